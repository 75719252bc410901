"""The seeds stage: standalone functions and AST-subtree snippets cut from Python files.

Functions (top-level ``def``s and methods that do not use ``self``) feed the extract stage,
each with the module-level imports and literal constants it refers to (``context``);
snippets (blocks of 3 to 15 statement lines: loops, ``if`` blocks, function bodies) are the
OSS-Instruct seeds the synthesize stage shows a model. Default source: the standard library
of the running interpreter. This module only reads and cuts code; it runs nothing.
"""

from __future__ import annotations

import ast
import hashlib
import sysconfig
import textwrap
from pathlib import Path
from typing import Iterator

from corpus.shards import StageRun, chunked, count

MAX_FILE_BYTES = 400_000
SNIPPET_LINES = (3, 15)
MAX_CONTEXT_CHARS = 200


def default_seed_dirs() -> list[Path]:
    """The running interpreter's standard library."""
    return [Path(sysconfig.get_paths()["stdlib"])]


def python_files(dirs: list[Path]) -> list[Path]:
    """Every .py file under ``dirs`` (sorted, test folders and site-packages skipped)."""
    files: set[Path] = set()
    for folder in dirs:
        folder = Path(folder)
        if folder.is_file() and folder.suffix == ".py":
            files.add(folder)
            continue
        for path in folder.rglob("*.py"):
            parts = set(path.relative_to(folder).parts)
            if parts & {"site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3", "__pycache__"}:
                continue
            files.add(path)
    return sorted(files)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _uses_self(node: ast.FunctionDef) -> bool:
    args = node.args.posonlyargs + node.args.args
    if not args or args[0].arg not in ("self", "cls"):
        return False
    return True


def module_context(tree: ast.Module) -> dict[str, str]:
    """Top-level names a function of the module may use: name -> the statement that binds it
    (each import, one name per statement, and each assignment of a short literal)."""
    context: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                context[(alias.asname or alias.name).split(".")[0]] = ast.unparse(ast.Import(names=[alias]))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    context[alias.asname or alias.name] = ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=0))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            statement = ast.unparse(node)
            if len(statement) <= MAX_CONTEXT_CHARS:
                context[node.targets[0].id] = statement
    return context


def seeds_from_source(text: str, origin: str) -> Iterator[dict]:
    """Seeds of one file: functions first (with the module-level names they use, see
    :func:`module_context`), then snippets."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    lines = text.splitlines()
    module = module_context(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(node, ast.FunctionDef) and not _uses_self(node) and not node.decorator_list:
                source = _cut(lines, node)
                used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
                yield {"id": _digest(source), "kind": "function", "name": node.name,
                       "source": source, "docstring": ast.get_docstring(node) or "",
                       "origin": f"{origin}:{node.lineno}",
                       "context": {name: module[name] for name in sorted(used & module.keys())}}
        if isinstance(node, (ast.For, ast.While, ast.If, ast.With, ast.Try, ast.FunctionDef)):
            start, end = node.lineno, node.end_lineno or node.lineno
            if SNIPPET_LINES[0] <= end - start + 1 <= SNIPPET_LINES[1]:
                source = _cut(lines, node)
                yield {"id": _digest(source), "kind": "snippet", "name": type(node).__name__,
                       "source": source, "docstring": "", "origin": f"{origin}:{start}"}


def _cut(lines: list[str], node: ast.stmt) -> str:
    return textwrap.dedent("\n".join(lines[node.lineno - 1:node.end_lineno])) + "\n"


def run_seeds(out: Path, dirs: list[Path] | None = None, *, files_per_shard: int = 40,
              progress: bool = True) -> dict:
    files = python_files(dirs or default_seed_dirs())
    seen: set[str] = set()

    def work(chunk: list[Path], stats: dict) -> list[dict]:
        records = []
        for path in chunk:
            count(stats, "files")
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    count(stats, "files_too_big")
                    continue
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                count(stats, "files_unreadable")
                continue
            for seed in seeds_from_source(text, str(path)):
                if seed["id"] in seen:
                    count(stats, "duplicates")
                    continue
                seen.add(seed["id"])
                count(stats, seed["kind"] + "s")
                records.append(seed)
        return records

    return StageRun(out, "seeds", progress).run(chunked(files, files_per_shard), work, unit="files",
                                                 sources=[str(d) for d in (dirs or default_seed_dirs())])
