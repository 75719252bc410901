"""The seeds stage: standalone functions and AST-subtree snippets cut from Python files.

Functions (top-level ``def``s and methods that do not use ``self``) feed the extract stage;
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


def seeds_from_source(text: str, origin: str) -> Iterator[dict]:
    """Seeds of one file: functions first, then snippets."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    lines = text.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(node, ast.FunctionDef) and not _uses_self(node) and not node.decorator_list:
                source = _cut(lines, node)
                yield {"id": _digest(source), "kind": "function", "name": node.name,
                       "source": source, "docstring": ast.get_docstring(node) or "",
                       "origin": f"{origin}:{node.lineno}"}
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
