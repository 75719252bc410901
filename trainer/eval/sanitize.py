"""EvalPlus's ``sanitize`` step, as the released SemCoder evaluation runs it before scoring.

The release writes ``solution = prompt + completion`` (cut at the first fence) and then runs
``evalplus.sanitize`` on it: the longest run of lines that parses is kept, and from it only the
imports and the top-level definitions the entry point reaches (functions with a ``return``,
classes, plain assignments; the first of each name; decorated definitions and everything
else, such as test calls, ``print``s and ``if __name__`` blocks, are dropped). EvalPlus does
this with tree-sitter; duck does the same with the standard library's ``ast`` (its
``syntax_check`` is ``ast.parse`` too), so it needs no extra package.

This module only rewrites text; it runs nothing (scoring is ``trainer.eval.evalplus``).
"""

from __future__ import annotations

import ast
import warnings

#: lines beyond which the longest parsable run is searched from the first line only (the
#: search is quadratic; real completions are far shorter)
MAX_SEARCH_LINES = 400


def _parse(text: str) -> ast.Module | None:
    """``text`` parsed, or None; quietly (a model's or a benchmark's invalid escape sequences
    would each warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None


def _parses(text: str) -> bool:
    return _parse(text) is not None


def code_extract(text: str) -> str:
    """The longest run of consecutive lines (counted in non-empty lines, at least two lines
    unless the text has one) that parses as Python; the first of equally long runs."""
    lines = text.split("\n")
    best, best_pair = 0, (0, 0)
    starts = range(len(lines)) if len(lines) <= MAX_SEARCH_LINES else range(1)
    for i in starts:
        if sum(1 for line in lines[i:] if line.strip()) <= best:
            break  # no later start can beat it
        for j in range(len(lines) - 1, i, -1):  # for a start, the longest run that parses is the best
            if _parses("\n".join(lines[i:j + 1])):
                length = sum(1 for line in lines[i:j + 1] if line.strip())
                if length > best:
                    best, best_pair = length, (i, j)
                break
    return "\n".join(lines[best_pair[0]:best_pair[1] + 1])


def _names(node: ast.AST) -> set[str]:
    """Every identifier under ``node`` (names, attributes, parameters, keywords, definitions)."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, ast.arg):
            found.add(child.arg)
        elif isinstance(child, ast.keyword) and child.arg:
            found.add(child.arg)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(child.name)
    return found


def _returns(node: ast.AST) -> bool:
    return any(isinstance(child, ast.Return) for child in ast.walk(node))


def _definition(node: ast.stmt) -> str | None:
    """The name a kept top-level statement defines, or None when it is not one EvalPlus keeps."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name if not node.decorator_list and _returns(node) else None
    if isinstance(node, ast.ClassDef):
        return node.name if not node.decorator_list else None
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def sanitize(code: str, entry_point: str | None = None) -> str:
    """``code`` reduced to its imports and the definitions ``entry_point`` needs (see the
    module docstring); without an entry point, every kept definition."""
    code = code_extract(code)
    tree = _parse(code)
    if tree is None:
        return ""  # no two consecutive lines parse: nothing to keep
    imports: list[ast.stmt] = []
    definitions: list[tuple[str, ast.stmt]] = []
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
            continue
        name = _definition(node)
        if name is not None and name not in seen:
            seen.add(name)
            definitions.append((name, node))
    reachable: set[str] | None = None
    if entry_point:
        needs = {name: _names(node) for name, node in definitions}
        reachable, queue = {entry_point}, [entry_point]
        while queue:
            for name in needs.get(queue.pop(0), ()):
                if name not in reachable:
                    reachable.add(name)
                    queue.append(name)
    kept = imports + [node for name, node in definitions if reachable is None or name in reachable]
    return "\n".join(ast.get_source_segment(code, node) for node in kept)
