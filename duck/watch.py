"""Watch expressions evaluated over a recording's values, never by running the user's code.

A watch like ``total / len(xs)``, ``xs[i] > best`` or ``node.next.value`` is parsed with ``ast``
and evaluated by a small interpreter: names resolve to the recorded safe reprs, turned back into
values with ``duck.trace.saferepr.revive`` (plain data: numbers, strings, lists, dicts, ..., and
objects as their recorded attributes, ``saferepr.Structure``); operators, comparisons,
subscripts, attributes of recorded objects and a handful of pure builtins (``len``, ``sum``,
``sorted``, ...) work on those. Anything else (a method call, a call to the program's functions,
an attribute the recording does not hold, a value the trace elided) gives ``NotAvailable``
with the reason. Results are bounded in size so a watch cannot eat the machine. This module
has no UI and does not record.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Mapping

from duck.trace.saferepr import CutShort, Opaque, Structure, revive

MAX_SIZE = 100_000      # elements/characters a watch may build
MAX_EXPONENT_BITS = 4_000


class NotAvailable(Exception):
    """The expression cannot be answered from the recorded values; ``str()`` says why."""


_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_, ast.Invert: operator.invert}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b, ast.Is: operator.is_, ast.IsNot: operator.is_not,
}
_FUNCTIONS = {
    "len": len, "abs": abs, "min": min, "max": max, "sum": sum, "sorted": sorted, "reversed": lambda x: list(reversed(x)),
    "any": any, "all": all, "bool": bool, "int": int, "float": float, "str": str, "repr": repr, "round": round,
    "list": list, "tuple": tuple, "set": set, "dict": dict, "type": lambda x: type(x).__name__,
}
_PLAIN = (int, float, complex, str, bytes, bool, type(None), list, tuple, dict, set, frozenset, Structure)


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    return 1


def _check(value: Any) -> Any:
    if not isinstance(value, _PLAIN):
        if isinstance(value, Opaque):
            raise NotAvailable(f"{value!r} is not a plain value")
        raise NotAvailable(f"a {type(value).__name__} is not a recorded value")
    if isinstance(value, Structure) and value.cut:
        raise NotAvailable(f"{value.type_name} was cut short in the recording (raise --repr-limit)")
    if _size(value) > MAX_SIZE:
        raise NotAvailable("the result would be too large")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_EXPONENT_BITS * 4:
        raise NotAvailable("the result would be too large")
    return value


class _Evaluator:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def name(self, name: str) -> Any:
        if name not in self.values and name in _FUNCTIONS:
            return _FUNCTIONS[name]
        if name not in self.values:
            raise NotAvailable(f"{name} has no recorded value here")
        text = self.values[name]
        if text is None:
            raise NotAvailable(f"{name} has no recorded value here")
        try:
            value, complete = revive(text, partial=True)
        except CutShort:
            complete = False
            value = None
        except ValueError:
            raise NotAvailable(f"{name} was recorded as {text[:40]!s}, which is not a plain value") from None
        if not complete and not isinstance(value, Structure):  # a cut object still answers for its whole attributes
            raise NotAvailable(f"{name} was cut short in the recording (raise --repr-limit)")
        return value

    def eval(self, node: ast.AST) -> Any:
        return _check(self._unchecked(node))

    def _unchecked(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise NotAvailable(f"{type(node).__name__.lower()} expressions are not evaluated on a recording")
        return method(node)

    def _Expression(self, node: ast.Expression) -> Any:
        return self.eval(node.body)

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        value = self.name(node.id)
        if callable(value):
            raise NotAvailable(f"{node.id} is a function; call it")
        return value

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.eval(node.left), self.eval(node.right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise NotAvailable("this operator is not evaluated on a recording")
        if isinstance(node.op, ast.Pow) and isinstance(right, int) and isinstance(left, int):
            if abs(right) > 10_000 or (abs(left) > 1 and right * max(abs(left).bit_length(), 1) > MAX_EXPONENT_BITS):
                raise NotAvailable("the result would be too large")
        if isinstance(node.op, ast.LShift) and isinstance(right, int) and right > MAX_EXPONENT_BITS:
            raise NotAvailable("the result would be too large")
        if isinstance(node.op, ast.Mult):
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int) and count * len(seq) > MAX_SIZE:
                    raise NotAvailable("the result would be too large")
        try:
            return op(left, right)
        except Exception as exc:  # the user's expression may divide by zero etc.
            raise NotAvailable(f"{type(exc).__name__}: {exc}") from None

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        try:
            return _UNARY[type(node.op)](operand)
        except Exception as exc:
            raise NotAvailable(f"{type(exc).__name__}: {exc}") from None

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for value_node in node.values:
            result = self.eval(value_node)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except Exception as exc:
                raise NotAvailable(f"{type(exc).__name__}: {exc}") from None
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _Attribute(self, node: ast.Attribute) -> Any:
        owner = self._unchecked(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else self.eval(node.value)
        if not isinstance(owner, Structure):
            _check(owner)
            raise NotAvailable(f"only the attributes of recorded objects can be read, not of a {type(owner).__name__}")
        attrs = owner.attrs
        if owner.cut and (node.attr not in attrs or (node.attr == next(reversed(attrs))
                                                     and isinstance(attrs[node.attr], (list, tuple, dict, set)))):
            raise NotAvailable(f"{node.attr} of {owner.type_name} was cut short in the recording (raise --repr-limit)")
        if node.attr not in attrs:
            raise NotAvailable(f"{owner.type_name} has no recorded attribute {node.attr}")
        return attrs[node.attr]

    def _Subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        key = self.eval(node.slice) if not isinstance(node.slice, ast.Slice) else self._slice(node.slice)
        try:
            return container[key]
        except Exception as exc:
            raise NotAvailable(f"{type(exc).__name__}: {exc}") from None

    def _slice(self, node: ast.Slice) -> slice:
        part = lambda n: None if n is None else self.eval(n)  # noqa: E731
        return slice(part(node.lower), part(node.upper), part(node.step))

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.eval(e) for e in node.elts)

    def _List(self, node: ast.List) -> Any:
        return [self.eval(e) for e in node.elts]

    def _Set(self, node: ast.Set) -> Any:
        try:
            return {self.eval(e) for e in node.elts}
        except TypeError as exc:
            raise NotAvailable(f"TypeError: {exc}") from None

    def _Dict(self, node: ast.Dict) -> Any:
        if any(k is None for k in node.keys):
            raise NotAvailable("** in a dict is not evaluated on a recording")
        try:
            return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values)}
        except TypeError as exc:
            raise NotAvailable(f"TypeError: {exc}") from None

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
            raise NotAvailable("only len, sum, min, max, sorted, abs, ... can be called on a recording")
        args = [self.eval(a) for a in node.args]
        try:
            return _FUNCTIONS[node.func.id](*args)
        except Exception as exc:
            raise NotAvailable(f"{type(exc).__name__}: {exc}") from None


def evaluate(expression: str, values: Mapping[str, str]) -> Any:
    """The value of ``expression`` with names bound to the recorded reprs in ``values``.

    Raises ``NotAvailable`` (with the reason) when the recording cannot answer it.
    """
    if len(expression) > 1000:
        raise NotAvailable("the expression is too long")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise NotAvailable(f"not an expression: {exc.msg}") from None
    try:
        return _Evaluator(values).eval(tree)
    except RecursionError:
        raise NotAvailable("the expression is nested too deeply") from None


def watch_text(expression: str, values: Mapping[str, str]) -> tuple[str, bool]:
    """``(repr of the value, True)`` or ``("not available: why", False)``."""
    try:
        return repr(evaluate(expression, values)), True
    except NotAvailable as exc:
        return f"not available: {exc}", False
