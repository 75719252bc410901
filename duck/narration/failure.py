"""Why a line raised: the values its names had at that step, and a reason specific to the exception.

``failure_reason`` looks at the failing statement (parsed with ``ast``), reads the recorded
values of the names it uses at the failing step, evaluates the few sub-expressions that can
be evaluated safely from those values (names, constants, ``len(x)``, subscripts, integer
arithmetic, all on values rebuilt with ``saferepr.revive`` from their safe reprs) and
gives a reason for IndexError, KeyError, ZeroDivisionError, TypeError, AttributeError and a
failed ``assert``; for anything else it lists the values.

It never runs the user's code and never claims a value the recording does not hold: when a
repr cannot be rebuilt (an object, a truncated value) it says less rather than guess.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from duck.narration.code import SourceIndex
from duck.narration.text import clip
from duck.trace.saferepr import Opaque, revive

_UNKNOWN = object()
_SIZED = (list, tuple, str, dict, set, frozenset, bytes)


class _Evaluator:
    """Evaluates simple expressions from the values recorded at one step."""

    def __init__(self, session, step: int) -> None:
        self.session = session
        self.step = step

    def recorded(self, name: str) -> str | None:
        return self.session.value_at(name, self.step)

    def value(self, node: ast.AST) -> Any:
        try:
            return self._value(node)
        except Exception:  # noqa: BLE001 - any surprise means "not known", never a crash
            return _UNKNOWN

    def _value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            text = self.recorded(node.id)
            if text is None or len(text) > 2000:
                return _UNKNOWN
            try:
                value = revive(text)
            except (ValueError, MemoryError, RecursionError):
                return _UNKNOWN
            return _UNKNOWN if isinstance(value, Opaque) else value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
                and len(node.args) == 1 and not node.keywords:
            inner = self._value(node.args[0])
            return len(inner) if isinstance(inner, _SIZED) else _UNKNOWN
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            container, key = self._value(node.value), self._value(node.slice)
            if container is _UNKNOWN or key is _UNKNOWN:
                return _UNKNOWN
            return container[key]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._value(node.operand)
            return -inner if _is_number(inner) else _UNKNOWN
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)):
            left, right = self._value(node.left), self._value(node.right)
            if not (_is_number(left) and _is_number(right)) or abs(left) > 10**15 or abs(right) > 10**15:
                return _UNKNOWN
            op = node.op
            if isinstance(op, ast.Add):
                return left + right
            if isinstance(op, ast.Sub):
                return left - right
            if isinstance(op, ast.Mult):
                return left * right
            if right == 0:
                return _UNKNOWN
            return left // right if isinstance(op, ast.FloorDiv) else left % right
        return _UNKNOWN


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _nodes(parts: list[ast.AST]):
    for part in parts:
        yield from ast.walk(part)


def names_used(parts: list[ast.AST]) -> list[str]:
    """Names the statement reads, in order of first appearance."""
    found: dict[str, None] = {}
    for node in sorted((n for n in _nodes(parts) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)),
                       key=lambda n: (n.lineno, n.col_offset)):
        found.setdefault(node.id, None)
    return list(found)


def values_clause(session, step: int, parts: list[ast.AST], skip: tuple[str, ...] = ()) -> str:
    """``a == 1, xs == [1, 2]`` for the names the statement reads that have a recorded value."""
    shown = []
    for name in names_used(parts):
        if name in skip:
            continue
        value = session.value_at(name, step)
        if value is None or value.startswith("<function ") or value.startswith("<module "):
            continue
        shown.append(f"{name} == {clip(value)}")
    return ", ".join(shown[:6])


def failure_reason(session, step: int, index: SourceIndex, line: int, exc_type: str, exc_msg: str) -> str:
    """The "because ..." part of a failure explanation ('' when nothing true can be said)."""
    parts = index.own_expressions(line)
    if not parts:
        return ""
    base = exc_type.rsplit(".", 1)[-1]
    raised = _raised_on_purpose(parts, base, exc_msg)
    if raised:
        return raised
    if base == "RecursionError":
        return _recursion_error(session, step)
    evaluator = _Evaluator(session, step)
    specific = {
        "IndexError": _index_error,
        "KeyError": _key_error,
        "ZeroDivisionError": _zero_division,
        "TypeError": _type_error,
        "AttributeError": _attribute_error,
        "AssertionError": _assertion,
    }.get(base)
    if specific is not None:
        reason = specific(evaluator, index, parts, exc_msg)
        if reason:
            return reason
    values = values_clause(session, step, parts)
    return f"at that moment {values}" if values else ""


def _raised_on_purpose(parts: list[ast.AST], base: str, message: str) -> str:
    """The reason when the line is a ``raise`` of this very exception: the program raised it itself.

    A lookup, a division or a call on such a line did not fail: guessing a missing key or a zero
    divisor from the exception's type alone would explain a failure that did not happen.
    """
    if len(parts) != 1 or not isinstance(parts[0], ast.Raise):
        return ""
    node = parts[0]
    if node.exc is None:
        if base == "RuntimeError" and message.startswith("No active exception"):
            return "no exception is being handled here, so the bare `raise` has nothing to re-raise"
        return "the bare `raise` re-raises the exception being handled"
    target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    if name != base:
        return ""  # `raise make_error()` or `raise errors[k]`: the expression itself may be what failed
    if node.cause is not None and not (isinstance(node.cause, ast.Constant) and node.cause.value is None):
        return "the program raises it itself, with `raise ... from`, as the consequence of an exception it caught"
    return "the program raises it itself with this `raise` statement"


def _recursion_error(session, step: int) -> str:
    """How deep the recorded stack was and which functions fill its innermost frames."""
    frame: int | None = session.frame(step)
    depth, innermost = 0, []
    while frame is not None:
        if depth < 50:
            innermost.append(session.frame_func(frame))
        depth += 1
        frame = session.frame_parent(frame)
    funcs = list(dict.fromkeys(innermost))
    if depth < 50 or len(funcs) > 3:
        return ""  # not a runaway recursion of the program's own code (or it is not recorded)
    names = " and ".join(f"`{name}`" for name in funcs)
    calls = "calls itself" if len(funcs) == 1 else "call each other"
    return (f"{names} {calls} without end: {depth:,} frames were running when Python's recursion limit "
            f"stopped it (the recursion never reaches its base case, or needs more depth than the limit)")


def _article(word: str) -> str:
    """``a`` or ``an`` before ``word`` (a type name: ``an int``, ``a str``)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _describe(index: SourceIndex, node: ast.AST) -> str:
    return index.segment(node)


def _index_error(ev: _Evaluator, index: SourceIndex, parts, message: str) -> str:
    for node in _nodes(parts):
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            container, key = ev.value(node.value), ev.value(node.slice)
            if not isinstance(container, (list, tuple, str)) or not isinstance(key, int) or isinstance(key, bool):
                continue
            size = len(container)
            if -size <= key < size:
                continue
            name, key_text = _describe(index, node.value), _describe(index, node.slice)
            if size == 0:
                shown = f"{key_text} (== {key})" if key_text != str(key) else key_text
                return f"{name} is empty, so there is no item {shown}"
            if key == size and key_text != str(key):
                return f"{key_text} == len({name}) == {size}, one past the last index ({size - 1})"
            shown = f"{key_text} == {key}" if key_text != str(key) else f"the index is {key}"
            return f"{shown} but len({name}) == {size} (valid indexes are {-size} to {size - 1})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "pop":
            container = ev.value(node.func.value)
            if isinstance(container, list) and not container:
                return f"{_describe(index, node.func.value)} is empty when `.pop()` is called"
    return ""


def _key_error(ev: _Evaluator, index: SourceIndex, parts, message: str) -> str:
    for node in _nodes(parts):
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            container, key = ev.value(node.value), ev.value(node.slice)
            if not isinstance(container, dict) or key is _UNKNOWN:
                continue
            try:
                present = key in container
            except TypeError:
                continue
            if present:
                continue
            name = _describe(index, node.value)
            keys = ", ".join(repr(k) for k in list(container)[:6]) + (", ..." if len(container) > 6 else "")
            have = f"its keys are {keys}" if container else "it is empty"
            key_text = _describe(index, node.slice)
            shown = repr(key) if isinstance(node.slice, ast.Constant) else f"{key_text} == {key!r}"
            return f"{name} has no key {shown} ({have})"
    if message:
        return f"the key {clip(message)} is not in the mapping"
    return ""


def _zero_division(ev: _Evaluator, index: SourceIndex, parts, message: str) -> str:
    for node in _nodes(parts):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
            right = node.right
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
            right = node.value
        else:
            continue
        value = ev.value(right)
        if _is_number(value) and value == 0:
            text = _describe(index, right)
            if isinstance(right, ast.Call) and isinstance(right.func, ast.Name) and right.func.id == "len":
                return f"{text} == 0: {_describe(index, right.args[0])} is empty"
            return f"the divisor {text} == 0" if text != str(value) else "the divisor is 0"
    return ""


def _type_error(ev: _Evaluator, index: SourceIndex, parts, message: str) -> str:
    if "NoneType" in message:
        nones = [name for name in names_used(parts) if ev.recorded(name) == "None"]
        if nones:
            return " and ".join(f"{name} is None" for name in nones[:3]) + f" ({message})"
    for node in _nodes(parts):
        if isinstance(node, (ast.BinOp, ast.AugAssign)):
            left = node.left if isinstance(node, ast.BinOp) else node.target
            right = node.right if isinstance(node, ast.BinOp) else node.value
            lv, rv = ev.value(left), ev.value(right)
            if lv is not _UNKNOWN and rv is not _UNKNOWN and type(lv) is not type(rv):
                lt, rt = type(lv).__name__, type(rv).__name__
                return (f"{_describe(index, left)} == {clip(repr(lv))} is {_article(lt)} {lt} and "
                        f"{_describe(index, right)} == {clip(repr(rv))} is {_article(rt)} {rt}")
    return ""


def _attribute_error(ev: _Evaluator, index: SourceIndex, parts, message: str) -> str:
    match = re.search(r"has no attribute '([^']+)'", message)
    if not match:
        return ""
    for node in _nodes(parts):
        if isinstance(node, ast.Attribute) and node.attr == match.group(1):
            owner = _describe(index, node.value)
            recorded = ev.recorded(owner) if isinstance(node.value, ast.Name) else None
            if recorded == "None":
                return f"{owner} is None, which has no attribute '{node.attr}'"
            if recorded is not None:
                return f"{owner} == {clip(recorded)} has no attribute '{node.attr}'"
    return ""


def _assertion(ev: _Evaluator, index: SourceIndex, parts, message: str) -> str:
    for node in parts:
        if isinstance(node, ast.Assert):
            test = _describe(index, node.test)
            values = values_clause(ev.session, ev.step, [node.test])
            reason = f"`{test}` is false"
            if values:
                reason += f": {values}"
            if message:
                reason += f" (message: {clip(message)})"
            return reason
    return ""
