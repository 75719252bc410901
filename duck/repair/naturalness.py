"""How natural a fix's new code is: how often the standard library writes its expressions' shapes.

Buggy code is less natural than its fix (Ray et al., "On the naturalness of buggy code", ICSE
2016), and patches that look like code people write are likelier right (Long and Rinard,
Prophet, POPL 2016). ``rank_key`` uses this only after all the run evidence ties: of
``x // 2 == 1`` and ``x % 2 == 0``, which pass the same asserts and keep the same answers,
the standard library writes the second shape hundreds of times and the first almost never.

A *shape* is an operator node (or a subscript) with its operands abstracted one level deep: ``x % 2 == 0`` is
``Compare(Eq)[BinOp(Mod), 0]`` and its left side ``BinOp(Mod)[Name, 2]`` (small integers,
``-1``, ``None``, booleans kept; other constants by type; names, attributes, calls by kind; a name repeated among the operands as ``Same``). The counts
come from the CPython standard library's own source (not from any benchmark's data), computed
once by ``python -m duck.repair.naturalness`` into ``_shape_counts.py`` (shapes seen at least
``MIN_COUNT`` times), so ranking reads a shipped table and parses nothing at start-up.

This module compares source texts; it runs nothing.
"""

from __future__ import annotations

import ast
import difflib
from collections import Counter

MIN_COUNT = 3  # shapes rarer than this in the corpus are left out of the table (they count as 0)
_OPERATORS = (ast.BinOp, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.AugAssign, ast.Subscript)


def _small_negative(node: ast.AST) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
        and type(node.operand.value) is int and 0 < node.operand.value <= 16


def _label(node: ast.AST) -> str:
    if _small_negative(node):
        return f"-{node.operand.value}"
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, bool) or (isinstance(value, int) and -2 <= value <= 16):
            return repr(value)
        return type(value).__name__
    if isinstance(node, ast.BinOp):
        return f"BinOp({type(node.op).__name__})"
    if isinstance(node, ast.Compare):
        return f"Compare({','.join(type(op).__name__ for op in node.ops)})"
    if isinstance(node, ast.BoolOp):
        return f"BoolOp({type(node.op).__name__})"
    if isinstance(node, ast.UnaryOp):
        return f"UnaryOp({type(node.op).__name__})"
    return type(node).__name__


def shape(node: ast.AST) -> str | None:
    """The shape of an operator node (None for any other node)."""
    if isinstance(node, ast.BinOp):
        operands = [node.left, node.right]
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
    elif isinstance(node, ast.BoolOp):
        operands = list(node.values)
    elif isinstance(node, ast.UnaryOp):
        if _small_negative(node):
            return None  # a constant (``-1``), labelled as one where it is an operand
        operands = [node.operand]
    elif isinstance(node, ast.Subscript):
        operands = [node.value, node.slice]
    elif isinstance(node, ast.AugAssign):
        operands = [node.target, node.value]
    else:
        return None
    labels, seen = [], []
    for operand in operands:  # a name repeated among the operands (`x - x`, `total += total`) is marked
        name = operand.id if isinstance(operand, ast.Name) else None
        labels.append("Same" if name is not None and name in seen else _label(operand))
        seen.append(name)
    head = f"AugAssign({type(node.op).__name__})" if isinstance(node, ast.AugAssign) else _label(node)
    return f"{head}[{', '.join(labels)}]"


def shapes(source: str, lines: set[int] | None = None) -> Counter:
    """Shapes of the operator nodes of ``source`` (only those starting on ``lines``, when given)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return Counter()
    found = Counter()
    for node in ast.walk(tree):
        if isinstance(node, _OPERATORS) and (lines is None or node.lineno in lines):
            key = shape(node)
            if key is not None:
                found[key] += 1
    return found


def _changed_lines(before: str, after: str) -> tuple[set[int], set[int]]:
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    old, new = set(), set()
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag != "equal":
            old.update(range(a0 + 1, a1 + 1))
            new.update(range(b0 + 1, b1 + 1))
    return old, new


_TABLE: dict[str, int] | None = None


def _table() -> dict[str, int]:
    global _TABLE
    if _TABLE is None:
        from duck.repair._shape_counts import COUNTS
        _TABLE = COUNTS
    return _TABLE


def naturalness(before: str, after: str) -> int:
    """How natural the code a fix brings in is: of the shapes on the changed lines of ``after``
    that the buggy lines did not have, the rarest one's corpus count, as its bit length (0: a
    shape the standard library never writes; a fix that brings in no new shape, such as swapped
    arguments, scores as high as any). Coarse on purpose: it breaks ties, it does not weigh."""
    old_lines, new_lines = _changed_lines(before, after)
    new = shapes(after, new_lines) - shapes(before, old_lines)
    if not new:
        return 64
    table = _table()
    return min(table.get(key, 0) for key in new).bit_length()


def count_corpus(root: str) -> Counter:
    """Shape counts over the ``.py`` files under ``root`` (tests and site-packages left out)."""
    import os

    counts = Counter()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders
                               if name not in ("site-packages", "test", "tests", "idle_test", "__pycache__"))
        for name in sorted(files):
            if name.endswith(".py"):
                try:
                    with open(os.path.join(folder, name), encoding="utf-8") as handle:
                        counts.update(shapes(handle.read()))
                except (OSError, UnicodeDecodeError, ValueError):
                    continue
    return counts


def main() -> None:
    """Write ``_shape_counts.py`` next to this module from this interpreter's standard library."""
    import os
    import sys
    import sysconfig

    counts = count_corpus(sysconfig.get_paths()["stdlib"])
    kept = {key: value for key, value in sorted(counts.items()) if value >= MIN_COUNT}
    path = os.path.join(os.path.dirname(__file__), "_shape_counts.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f'"""Operator shapes (``duck.repair.naturalness.shape``) counted over the CPython '
                     f'{sys.version_info.major}.{sys.version_info.minor} standard library\n(tests left out), '
                     f'those seen at least {MIN_COUNT} times. Generated by `python -m duck.repair.naturalness`; '
                     f'do not edit."""\n\nCOUNTS = {{\n')
        for key, value in kept.items():
            handle.write(f"    {key!r}: {value},\n")
        handle.write("}\n")
    print(f"{len(kept)} shapes ({len(counts)} seen) -> {path}")


if __name__ == "__main__":
    main()
