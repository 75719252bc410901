"""Small, format-preserving candidate edits of a Python source, found with libcst.

An ``Edit`` replaces one span of the source text (an operator token, an expression, or an
empty span where a statement is inserted) and leaves every other byte alone, so a fix shows
up as a one-token diff. ``candidate_edits`` proposes, at the lines fault localisation ranked,
the single-statement bug classes that one-token bug studies and mutation-testing tools name:
operator swaps (arithmetic, comparison, boolean, augmented, and ``=`` <-> ``+=``/``-=``),
off-by-one constants, indices, slice and loop bounds (``range(n)`` <-> ``range(1, n)``), call
arguments swapped, replaced by a variable in scope or moved by one, a return value replaced by
a value in scope (or the element for the container, or a constant the function returns
elsewhere, or ``None``), a slice bound or step left out, a
difference clamped at zero, ``yield`` <-> ``yield from``, conditions negated or weakened (one
operand of ``and``/``or`` dropped, never a literal default as in ``x or '_'``; a whole chain
flipped), wrong method/function, missing
return, missing base case; ``apply_edits`` applies one edit or a compatible pair.

This module only writes text: it does not run anything (``duck.repair.verify`` does) and
never touches files. ``assert`` statements are never edited: they are the program's oracle.
With ``protect_inputs`` the program's *inputs* are never edited either: literal data that
module-level code assigns (``scores = [72, 95, 88]``) or passes to the program's own
functions (``above(scores, 60)``); with ``functions_only`` (the run failed inside a
function) only function bodies are edited, never the module-level code that calls them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider, MetadataWrapper, PositionProvider

#: Order in which kinds of edit are tried at equally suspicious lines (cheap, likely ones first).
KIND_PRIORITY = {
    "comparison": 0, "off-by-one": 1, "constant": 2, "arithmetic": 3, "augmented": 3, "boolean": 4,
    "negation": 5, "slice": 5, "yield": 5, "method": 6, "return": 7, "return-value": 7, "condition": 7,
    "base-case": 8, "swap": 9, "clamp": 9, "variable": 10,
}

#: How likely a kind of edit is to be the fix, as a weight on its line's suspiciousness (one-token
#: operator and constant slips are the commonest single-statement bugs; a wrong variable is a
#: frequent bug too, but every line offers many variables, most of them wrong).
KIND_WEIGHT = {
    "comparison": 1.0, "off-by-one": 0.9, "constant": 0.85, "arithmetic": 0.85, "augmented": 0.85,
    "boolean": 0.8, "negation": 0.75, "slice": 0.75, "yield": 0.75, "method": 0.7, "return": 0.65,
    "return-value": 0.65, "condition": 0.65, "base-case": 0.6, "swap": 0.55, "clamp": 0.55, "variable": 0.4,
}

_COMPARISON_SWAPS = {
    "<": ("<=", ">", "!="), "<=": ("<", ">="), ">": (">=", "<"), ">=": (">", "<="),
    "==": ("!=", "<=", ">="), "!=": ("==",), "in": ("not in",), "not in": ("in",),
    "is": ("is not",), "is not": ("is",),
}
_ARITHMETIC_SWAPS = {
    "+": ("-", "*"), "-": ("+",), "*": ("+", "/", "//", "**"), "/": ("//", "*"), "//": ("/", "%", "*"),
    "%": ("//",), "**": ("*",),
}
_NON_COMMUTATIVE = {"-", "/", "//", "%", "**"}
_AUGMENTED_SWAPS = {"+=": ("-=", "*="), "-=": ("+=",), "*=": ("+=", "//="), "/=": ("//=", "*="),
                    "//=": ("/=", "%="), "%=": ("//=",)}
_FUNCTION_SWAPS = {"min": ("max",), "max": ("min",), "any": ("all",), "all": ("any",),
                   "sorted": ("reversed",), "reversed": ("sorted",), "int": ("round",), "round": ("int",)}
_METHOD_SWAPS = {
    "append": ("extend",), "extend": ("append",), "pop": ("remove",), "remove": ("pop",),
    "lower": ("upper",), "upper": ("lower",), "startswith": ("endswith",), "endswith": ("startswith",),
    "lstrip": ("rstrip", "strip"), "rstrip": ("lstrip", "strip"), "strip": ("lstrip", "rstrip"),
    "find": ("rfind", "index"), "rfind": ("find",), "index": ("find",), "split": ("rsplit",),
    "keys": ("values", "items"), "values": ("keys", "items"), "items": ("keys", "values"),
    "add": ("update",), "update": ("add",), "isdigit": ("isalpha",), "isalpha": ("isdigit",),
}
_OPERATOR_TEXT = {
    cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">", cst.GreaterThanEqual: ">=",
    cst.Equal: "==", cst.NotEqual: "!=", cst.In: "in", cst.NotIn: "not in", cst.Is: "is", cst.IsNot: "is not",
    cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.FloorDivide: "//",
    cst.Modulo: "%", cst.Power: "**", cst.And: "and", cst.Or: "or",
    cst.AddAssign: "+=", cst.SubtractAssign: "-=", cst.MultiplyAssign: "*=", cst.DivideAssign: "/=",
    cst.FloorDivideAssign: "//=", cst.ModuloAssign: "%=",
}
_ATOMIC = (cst.Name, cst.Integer, cst.Attribute, cst.Subscript, cst.Call, cst.SimpleString, cst.Float)
_MAX_NAME_ALTERNATIVES = 8
_MAX_RETURN_ALTERNATIVES = 6
INSERTIONS = ("return", "base-case")
INSERT_AFTER = 30


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` with ``text``; ``line`` is where it happens (1-based)."""

    start: int
    end: int
    text: str
    line: int
    kind: str
    description: str
    file: str | None = None   # the file it edits, relative to the program's folder (None: the program)

    def overlaps(self, other: "Edit") -> bool:
        if self.file != other.file:
            return False
        return self.start < other.end and other.start < self.end or (self.start == other.start)


def apply_edits(source: str, edits: Iterable[Edit]) -> str:
    """The source with every edit applied (they must not overlap)."""
    ordered = sorted(edits, key=lambda e: e.start, reverse=True)
    for first, second in zip(ordered, ordered[1:]):
        if first.overlaps(second):
            raise ValueError("overlapping edits")
    text = source
    for edit in ordered:
        text = text[: edit.start] + edit.text + text[edit.end:]
    return text


class _Offsets:
    """(line, column) -> offset into the source string."""

    def __init__(self, source: str) -> None:
        self.starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self.starts.append(index + 1)

    def __call__(self, position) -> int:
        return self.starts[position.line - 1] + position.column

    def line_end(self, line: int, source: str) -> int:
        """Offset of the newline ending ``line`` (or the end of the source)."""
        end = source.find("\n", self.starts[line - 1])
        return len(source) if end < 0 else end


def scope_names(source: str) -> dict[int, set[str]]:
    """line -> the variables a line may refer to: its function's parameters and locals, plus
    the module's variables (functions and classes are left out: swapping them is rarely a fix)."""
    tree = ast.parse(source)
    module_names: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            module_names |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    result: dict[int, set[str]] = {line: set(module_names) for line in range(1, source.count("\n") + 2)}
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    functions.sort(key=lambda n: n.lineno)  # outer before inner, so inner scopes add to outer ones
    for function in functions:
        names = {a.arg for a in function.args.args + function.args.kwonlyargs + function.args.posonlyargs}
        names |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for line in range(function.lineno, (function.end_lineno or function.lineno) + 1):
            result[line] = result.get(line, set()) | names
    return result


def _assert_lines(tree: ast.AST) -> set[int]:
    """Lines that are the program's own checks: ``assert``s and the ``if __name__ == "__main__":``
    block (negating its guard would skip the checks; editing its body would change their inputs)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.If) and "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}:
            # the whole driver block: editing it would change the inputs the check runs on
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, ExpressionContextProvider)

    def __init__(self, source: str, lines: set[int], names: dict[int, set[str]], protected: set[int],
                 seen: dict[int, set[str]] | None = None) -> None:
        self.source = source
        self.lines = lines
        self.names = names
        self.seen = seen or {}           # line -> names the recording saw there (tried first)
        self.protected = protected
        self.offsets = _Offsets(source)
        self.edits: list[Edit] = []
        self._callee_names: set[int] = set()  # id() of Name nodes that are called functions
        self._inner_chains: set[int] = set()  # id() of `a or b` inside `a or b or c`
        self._loops = 0                       # loops around the node being visited
        self._function_stack: list[cst.FunctionDef] = []
        self._negated: set[int] = set()       # id() of the Integer of a `-k`
        self._function_returns = _function_return_constants(source)

    # helpers -------------------------------------------------------------------------
    def _span(self, node: cst.CSTNode) -> tuple[int, int, int]:
        rng = self.get_metadata(PositionProvider, node)
        return self.offsets(rng.start), self.offsets(rng.end), rng.start.line

    def _wanted(self, line: int) -> bool:
        return line in self.lines and line not in self.protected

    def _add(self, node: cst.CSTNode, text: str, kind: str, description: str) -> None:
        start, end, line = self._span(node)
        if not self._wanted(line) or self.source[start:end] == text:
            return
        self.edits.append(Edit(start, end, text, line, kind, description))

    def _text(self, node: cst.CSTNode) -> str:
        start, end, _ = self._span(node)
        return self.source[start:end]

    def _plus_minus(self, node: cst.BaseExpression, what: str) -> None:
        if isinstance(node, cst.Integer) or _negative_integer(node):
            return  # the constant edits cover it
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)) \
                and (isinstance(node.right, cst.Integer) or isinstance(node.left, cst.Integer)):
            return  # `n + 1` already has a constant to move, and dropping it is its own edit
        code = self._text(node)
        if not isinstance(node, _ATOMIC):
            code = f"({code})"
        self._add(node, f"{code} + 1", "off-by-one", f"{what} `{self._text(node)}` -> `{code} + 1`")
        self._add(node, f"{code} - 1", "off-by-one", f"{what} `{self._text(node)}` -> `{code} - 1`")

    # operators -----------------------------------------------------------------------
    def visit_ComparisonTarget(self, node: cst.ComparisonTarget) -> None:
        op = _OPERATOR_TEXT.get(type(node.operator))
        for other in _COMPARISON_SWAPS.get(op, ()):
            self._add(node.operator, other, "comparison", f"`{op}` -> `{other}`")

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        op = _OPERATOR_TEXT.get(type(node.operator))
        for other in _ARITHMETIC_SWAPS.get(op, ()):
            self._add(node.operator, other, "arithmetic", f"`{op}` -> `{other}`")
        if op in _NON_COMMUTATIVE:
            left, right = self._text(node.left), self._text(node.right)
            self._add(node, f"{right} {op} {left}", "swap", f"`{left} {op} {right}` -> `{right} {op} {left}`")
        if op in ("+", "-"):
            for keep, drop in ((node.left, node.right), (node.right, node.left)):
                if isinstance(drop, cst.Integer) and drop.value == "1":
                    self._add(node, self._text(keep), "off-by-one",
                              f"`{self._text(node)}` -> `{self._text(keep)}`")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        op = _OPERATOR_TEXT.get(type(node.operator))
        for other in _AUGMENTED_SWAPS.get(op, ()) + ("=",):
            self._add(node.operator, other, "augmented", f"`{op}` -> `{other}`")
        self._clamp(node.value)

    def visit_For(self, node) -> None:
        self._loops += 1

    def leave_For(self, node) -> None:
        self._loops -= 1

    leave_While = leave_For  # ``visit_While`` (below) counts the loop too

    def visit_Assign(self, node: cst.Assign) -> None:
        """``x = e`` -> ``x += e`` / ``x -= e`` inside a loop (an accumulation that overwrites), and a
        clamp of ``e``."""
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and self._loops:
            target = node.targets[0].target
            _, end, line = self._span(target)
            start = self._span(node.value)[0]
            if target.value in self.names.get(line, set()) and self.source[end:start].strip() == "=" \
                    and self._wanted(line):
                for other in ("+=", "-="):
                    self.edits.append(Edit(end, start, f" {other} ", line, "augmented", f"`=` -> `{other}`"))
        self._clamp(node.value)

    def _clamp(self, value: cst.BaseExpression) -> None:
        """A difference that may not go below zero: ``a - b`` -> ``max(a - b, 0)``."""
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Subtract):
            code = self._text(value)
            self._add(value, f"max({code}, 0)", "clamp", f"`{code}` clamped: `max({code}, 0)`")

    # return values, yield ------------------------------------------------------------
    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        if value is None:
            return
        code = self._text(value)
        _, _, line = self._span(value)
        if isinstance(value, cst.Subscript) and len(value.slice) == 1 and isinstance(value.slice[0].slice, cst.Index):
            inner = self._text(value.value)
            self._add(value, inner, "return-value", f"`return {code}` -> `return {inner}`")
        if isinstance(value, (cst.Name, cst.Attribute, cst.Call)):
            for index in ("0", "-1"):
                self._add(value, f"{code}[{index}]", "return-value", f"`return {code}` -> `return {code}[{index}]`")
        if not isinstance(value, cst.Name):  # a name is replaced by ``visit_Name``
            for other in self._alternatives(line)[:_MAX_RETURN_ALTERNATIVES]:
                self._add(value, other, "return-value", f"`return {code}` -> `return {other}`")
        for other in self._return_constants(line):
            self._add(value, other, "return-value", f"`return {code}` -> `return {other}`")
        self._clamp(value)

    def _return_constants(self, line: int) -> list[str]:
        """Constants a ``return`` at ``line`` may give instead (the return-value mutators of
        mutation testing, PIT's true/false/null returns): the ones the same function returns
        elsewhere (``return True`` beside ``return False``), and ``None``."""
        for first, last, constants in self._function_returns:
            if first <= line <= last:
                return constants
        return []

    def visit_Yield(self, node: cst.Yield) -> None:
        value = node.value
        if isinstance(value, cst.From):
            inner = self._text(value.item)
            self._add(node, f"yield {inner}", "yield", f"`yield from {inner}` -> `yield {inner}`")
        elif value is not None:
            inner = self._text(value)
            self._add(node, f"yield from {inner}", "yield", f"`yield {inner}` -> `yield from {inner}`")

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        op = _OPERATOR_TEXT.get(type(node.operator))
        other = {"and": "or", "or": "and"}.get(op)
        if other:
            self._add(node.operator, other, "boolean", f"`{op}` -> `{other}`")
            # a chain `a or b or c` with every operator flipped at once
            chain, left = [node.operator], node.left
            while isinstance(left, cst.BooleanOperation) and type(left.operator) is type(node.operator):
                chain.append(left.operator)
                left = left.left
            if len(chain) > 1 and id(node) not in self._inner_chains:
                start, end, _ = self._span(node)
                text = self.source[start:end]
                for operator in sorted(chain, key=lambda o: -self._span(o)[0]):
                    o_start, o_end, _ = self._span(operator)
                    text = text[:o_start - start] + other + text[o_end - start:]
                self._add(node, text, "boolean", f"every `{op}` of `{self._text(node)}` -> `{other}`")
            inner = node.left
            while isinstance(inner, cst.BooleanOperation) and type(inner.operator) is type(node.operator):
                self._inner_chains.add(id(inner))
                inner = inner.left
        # weaker / stronger: one operand dropped; not from `x or '_'` / `d and []`, where a literal
        # operand makes the expression a value with a default, not a condition
        if _is_data(node.left) or _is_data(node.right):
            return
        for keep, drop in ((node.left, node.right), (node.right, node.left)):
            self._add(node, self._text(keep), "condition", f"`{self._text(drop)}` dropped from `{self._text(node)}`")

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        if isinstance(node.operator, cst.Not):
            self._add(node, self._text(node.expression), "negation", f"`{self._text(node)}` -> `{self._text(node.expression)}`")
        elif isinstance(node.operator, cst.Minus):
            self._add(node, self._text(node.expression), "constant", f"`{self._text(node)}` -> `{self._text(node.expression)}`")
            if _negative_integer(node):  # `-1` -> `0` / `-2`, written as a programmer would (not `-0`)
                self._negated.add(id(node.expression))
                try:
                    value = -int(node.expression.value, 0)
                except ValueError:
                    return
                for other in (value + 1, value - 1):  # an off-by-one slip, as `i` -> `i + 1` is
                    self._add(node, str(other), "off-by-one", f"constant `{self._text(node)}` -> `{other}`")

    # conditions ----------------------------------------------------------------------
    def _negate(self, test: cst.BaseExpression) -> None:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return
        code = self._text(test)
        self._add(test, f"not ({code})" if not isinstance(test, _ATOMIC) else f"not {code}", "negation",
                  f"condition `{code}` negated")

    def visit_If(self, node: cst.If) -> None:
        self._negate(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._loops += 1
        self._negate(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._negate(node.test)

    # constants -----------------------------------------------------------------------
    def visit_Integer(self, node: cst.Integer) -> None:
        if id(node) in self._negated:
            return  # `-k` as a whole (``visit_UnaryOperation``)
        try:
            value = int(node.value, 0)
        except ValueError:
            return
        for other in (value + 1, value - 1):
            if other >= 0:
                self._add(node, str(other), "constant", f"constant `{node.value}` -> `{other}`")

    # names, calls, subscripts --------------------------------------------------------
    def visit_Name(self, node: cst.Name) -> None:
        if node.value in ("True", "False"):
            other = "False" if node.value == "True" else "True"
            self._add(node, other, "constant", f"`{node.value}` -> `{other}`")
            return
        if id(node) in self._callee_names or node.value == "None":
            return
        try:
            context = self.get_metadata(ExpressionContextProvider, node)
        except KeyError:
            return
        if context != ExpressionContext.LOAD:
            return
        _, _, line = self._span(node)
        for other in self._alternatives(line, node.value)[:_MAX_NAME_ALTERNATIVES]:
            self._add(node, other, "variable", f"`{node.value}` -> `{other}`")

    def _alternatives(self, line: int, name: str | None = None) -> list[str]:
        """Names a line may use instead of ``name``: those the recording saw there first."""
        names = self.names.get(line, set()) - {name, "True", "False", "None"}
        seen = self.seen.get(line, set())
        return sorted(names, key=lambda n: (n not in seen, n))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self._callee_names.add(id(func))
            for other in _FUNCTION_SWAPS.get(func.value, ()):
                self._add(func, other, "method", f"`{func.value}()` -> `{other}()`")
            if func.value == "range":
                for arg in node.args:
                    self._plus_minus(arg.value, "range bound")
                self._range_start(node)
            if func.value == "sorted" and not any(a.keyword for a in node.args):
                close = self._span(node)[1] - 1  # the ")"
                start, _, line = self._span(node)
                if self._wanted(line):
                    self.edits.append(Edit(close, close, ", reverse=True", line, "method", "`sorted(...)` -> `sorted(..., reverse=True)`"))
        elif isinstance(func, cst.Attribute):
            for other in _METHOD_SWAPS.get(func.attr.value, ()):
                self._add(func.attr, other, "method", f"`.{func.attr.value}()` -> `.{other}()`")
        positional = [a for a in node.args if not a.keyword and not a.star]
        if not (isinstance(func, cst.Name) and func.value in ("range", "print", "len", "str", "repr")):
            for arg in positional:  # a recursive call or an index passed without its adjustment
                if isinstance(arg.value, (cst.Name, cst.Attribute, cst.Subscript)):
                    self._plus_minus(arg.value, "call argument")
        for i in range(len(positional)):
            for j in range(i + 1, len(positional)):
                a, b = positional[i].value, positional[j].value
                sa, ea, line = self._span(a)
                sb, eb, _ = self._span(b)
                if self._wanted(line):
                    text = self.source[sa:ea]
                    other = self.source[sb:eb]
                    swapped = other + self.source[ea:sb] + text
                    self.edits.append(Edit(sa, eb, swapped, line, "swap", f"arguments `{text}` and `{other}` swapped"))

    def _range_start(self, node: cst.Call) -> None:
        """``range(n)`` -> ``range(1, n)`` and ``range(0 or 1, n)`` -> ``range(n)``: the loop's first value."""
        args = [a for a in node.args if not a.keyword and not a.star]
        if len(args) == 1:
            code = self._text(args[0].value)
            self._add(node, f"range(1, {code})", "off-by-one", f"`range({code})` -> `range(1, {code})`")
        elif len(args) == 2 and isinstance(args[0].value, cst.Integer) and args[0].value.value in ("0", "1"):
            code = self._text(args[1].value)
            self._add(node, f"range({code})", "off-by-one", f"`{self._text(node)}` -> `range({code})`")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # `obj.method(...)`: the attribute's Name is not a variable
        self._callee_names.add(id(node.attr))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        for element in node.slice:
            inner = element.slice
            if isinstance(inner, cst.Index):
                self._plus_minus(inner.value, "index")
            elif isinstance(inner, cst.Slice):
                for bound in (inner.lower, inner.upper):
                    if bound is not None:
                        self._plus_minus(bound, "slice bound")
                self._slice_variants(inner)

    def _slice_variants(self, inner: cst.Slice) -> None:
        """A slice with one of its bounds (or its step) left out: ``xs[1:n]`` -> ``xs[:n]``, ``xs[1:]``."""
        parts = [self._text(p) if p is not None else "" for p in (inner.lower, inner.upper, inner.step)]
        whole = self._text(inner)
        for index, what in enumerate(("start", "stop", "step")):
            if not parts[index]:
                continue
            kept = list(parts)
            kept[index] = ""
            text = f"{kept[0]}:{kept[1]}" + (f":{kept[2]}" if kept[2] else "")
            self._add(inner, text, "slice", f"slice `[{whole}]` -> `[{text}]` (no {what})")

    # functions: missing return, missing base case ------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        start, end, line = self._span(node)
        end_line = self.get_metadata(PositionProvider, node).end.line
        if not any(self._wanted(n) for n in range(line, end_line + 1)):
            return
        if not isinstance(node.body, cst.IndentedBlock) or not node.body.body:
            return
        body = node.body.body
        last = body[-1]
        last_pos = self.get_metadata(PositionProvider, last)
        indent = " " * last_pos.start.column
        returns = _has_return(node)
        if not isinstance(last, cst.SimpleStatementLine) or not isinstance(last.body[-1], cst.Return):
            insert_at = self.offsets.line_end(last_pos.end.line, self.source)
            stored = _stored_names(node)
            for name in stored:
                self.edits.append(Edit(insert_at, insert_at, f"\n{indent}return {name}", last_pos.end.line,
                                       "return", f"missing `return {name}` added at the end of `{node.name.value}`"))
            if not returns and isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 \
                    and isinstance(last.body[0], cst.Expr) and not _is_print(last.body[0].value):
                expr = last.body[0].value
                self._add(expr, f"return {self._text(expr)}", "return", f"`{self._text(expr)}` -> `return {self._text(expr)}`")
        if _calls_itself(node) and node.params.params:
            param = node.params.params[0].name.value
            first = body[0]
            first_pos = self.get_metadata(PositionProvider, first)
            at = self.offsets.starts[first_pos.start.line - 1]
            first_indent = " " * first_pos.start.column
            for condition, value in ((f"{param} <= 0", "0"), (f"{param} <= 1", param), (f"{param} <= 1", "1"),
                                     (f"{param} == 0", "1"), (f"not {param}", param), (f"not {param}", "0"), (f"len({param}) <= 1", param)):
                self.edits.append(Edit(at, at, f"{first_indent}if {condition}:\n{first_indent}    return {value}\n",
                                       first_pos.start.line, "base-case",
                                       f"base case `if {condition}: return {value}` added to `{node.name.value}`"))


def _has_return(node: cst.CSTNode) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Return(self, n: cst.Return) -> None:
            found.append(n)

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return n is node

    node.visit(Finder())
    return bool(found)


def _stored_names(node: cst.FunctionDef) -> list[str]:
    names: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            if isinstance(n.target, cst.Name) and n.target.value not in names:
                names.append(n.target.value)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            if isinstance(n.target, cst.Name) and n.target.value not in names:
                names.append(n.target.value)

    node.body.visit(Finder())
    return names


def _calls_itself(node: cst.FunctionDef) -> bool:
    name = node.name.value
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            if isinstance(n.func, cst.Name) and n.func.value == name:
                found.append(n)

    node.body.visit(Finder())
    return bool(found)


def _function_return_constants(source: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, constants) per function, innermost first: the literal constants its
    own ``return`` statements give (at most three), then ``None``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        returned: list[tuple[int, str]] = []
        stack = list(function.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, (bool, int, str, type(None))):
                returned.append((node.lineno, repr(node.value.value)))
            stack.extend(ast.iter_child_nodes(node))
        constants = [text for text in dict.fromkeys(text for _, text in sorted(returned)) if len(text) <= 20]
        constants = constants[:3] + (["None"] if "None" not in constants[:3] else [])
        found.append((function.lineno, function.end_lineno or function.lineno, constants))
    found.sort(key=lambda item: item[1] - item[0])  # innermost (shortest) first
    return found


def _negative_integer(node: cst.CSTNode) -> bool:
    """``-k`` for an integer literal ``k``."""
    return isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) \
        and isinstance(node.expression, cst.Integer)


def _is_print(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "print"


def _is_data(node: cst.CSTNode) -> bool:
    """A literal value: numbers, strings, True/False/None, and lists/tuples/sets/dicts of them."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _is_data(node.expression)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(isinstance(e, cst.Element) and _is_data(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _is_data(e.key) and _is_data(e.value) for e in node.elements)
    return False


class _InputFinder(cst.CSTVisitor):
    """Spans of the program's input data: literals that module-level code assigns or passes to
    the program's own functions."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, offsets: _Offsets, functions: set[str]) -> None:
        self.offsets = offsets
        self.functions = functions
        self.spans: list[tuple[int, int]] = []
        self._depth = 0  # > 0 inside a def, class or lambda

    def _keep(self, node: cst.CSTNode) -> None:
        rng = self.get_metadata(PositionProvider, node)
        self.spans.append((self.offsets(rng.start), self.offsets(rng.end)))

    def visit_FunctionDef(self, node) -> None:
        self._depth += 1

    def leave_FunctionDef(self, node) -> None:
        self._depth -= 1

    visit_ClassDef = visit_Lambda = visit_FunctionDef
    leave_ClassDef = leave_Lambda = leave_FunctionDef

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._depth == 0 and _is_data(node.value):
            self._keep(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._depth == 0 and node.value is not None and _is_data(node.value):
            self._keep(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        if self._depth == 0 and isinstance(node.func, cst.Name) and node.func.value in self.functions:
            for arg in node.args:
                if _is_data(arg.value):
                    self._keep(arg.value)


def _module_level_lines(tree: ast.Module) -> set[int]:
    """Lines of the module's own statements (everything but function and class definitions)."""
    lines: set[int] = set()
    for statement in tree.body:
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def _touches(edit: Edit, spans: list[tuple[int, int]]) -> bool:
    for start, end in spans:
        if edit.start == edit.end:
            if start < edit.start < end:
                return True
        elif edit.start < end and start < edit.end:
            return True
    return False


def candidate_edits(source: str, lines: Iterable[int], extra_names: dict[int, set[str]] | None = None, *,
                    protect_inputs: bool = False, functions_only: bool = False,
                    scores: dict[int, float] | None = None) -> list[Edit]:
    """Every single edit at ``lines`` (in the order given: most suspicious first), deduplicated.

    With ``scores`` (line -> suspiciousness) edits are ordered by score times ``KIND_WEIGHT``
    instead, so a likely edit on a slightly less suspicious line comes before an unlikely one
    (a wrong variable) on the most suspicious line.

    ``extra_names`` adds names a line may refer to (the locals the trace saw there).
    ``protect_inputs`` leaves the program's input data alone and ``functions_only`` the
    module-level code (see the module docstring). Returns nothing for a source that does not parse.
    """
    order = list(dict.fromkeys(lines))
    try:
        module = cst.parse_module(source)
        tree = ast.parse(source)
    except (cst.ParserSyntaxError, SyntaxError, ValueError):
        return []
    names = scope_names(source)
    for line, extra in (extra_names or {}).items():
        names[line] = names.get(line, set()) | set(extra)
    protected = _assert_lines(tree)
    if functions_only:
        protected |= _module_level_lines(tree)
    collector = _Collector(source, set(order), names, protected, seen=extra_names)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    wrapper.visit(collector)
    spans: list[tuple[int, int]] = []
    if protect_inputs:
        functions = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        finder = _InputFinder(collector.offsets, functions)
        wrapper.visit(finder)
        spans = finder.spans
    rank = {line: index for index, line in enumerate(order)}
    seen: set[tuple[int, int, str]] = set()
    unique = []
    for edit in collector.edits:
        key = (edit.start, edit.end, edit.text)
        if key not in seen and not (spans and _touches(edit, spans)):
            seen.add(key)
            unique.append(edit)
    if scores is not None:
        unique.sort(key=lambda e: (-edit_score(e, scores), rank.get(e.line, len(rank)),
                                   KIND_PRIORITY.get(e.kind, 99), e.start))
    else:
        unique.sort(key=lambda e: (rank.get(e.line, len(rank)), KIND_PRIORITY.get(e.kind, 99), e.start))
    # inserted statements are bigger changes: try them after the first few in-place edits
    in_place = [e for e in unique if e.kind not in INSERTIONS]
    inserted = [e for e in unique if e.kind in INSERTIONS]
    return in_place[:INSERT_AFTER] + inserted + in_place[INSERT_AFTER:]


def edit_score(edit: Edit, scores: dict[int, float]) -> float:
    """How likely ``edit`` is the fix: its line's suspiciousness times its kind's weight."""
    return scores.get(edit.line, 0.0) * KIND_WEIGHT.get(edit.kind, 0.5)


def edit_pairs(edits: list[Edit], limit: int) -> list[tuple[Edit, Edit]]:
    """Pairs of non-overlapping edits at different places, best-ranked first, at most ``limit``."""
    pairs: list[tuple[Edit, Edit]] = []
    for total in range(1, 2 * len(edits)):
        for i in range(max(0, total - len(edits) + 1), (total + 1) // 2):
            j = total - i
            a, b = edits[i], edits[j]
            if a.file != b.file or a.overlaps(b) or (a.start, a.end) == (b.start, b.end):
                continue
            pairs.append((a, b))
            if len(pairs) >= limit:
                return pairs
    return pairs
