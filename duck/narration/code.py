"""What the narrator needs to know about the recorded source: line text, statements, branches.

``SourceIndex`` parses one file's recorded text once (with ``ast``) and answers questions
by line number: the text of a line, the statement that contains it, the expressions a
statement evaluates itself (not its body), where an ``if``'s branches lie. It also writes
the static "### Understanding the Function" section for a function, from its syntax only.

It never runs code and never reads a file from disk: the text comes from the trace.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


@dataclass(frozen=True)
class Branch:
    """An ``if`` (or ``elif``) statement: where its body and its ``else`` part lie."""

    line: int
    body: tuple[int, int]
    orelse: tuple[int, int] | None


class SourceIndex:
    """One file's recorded source, parsed once. Every method takes 1-based line numbers."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines()
        try:
            self.tree: ast.Module | None = ast.parse(source)
        except (SyntaxError, ValueError):
            self.tree = None
        self._statements: dict[int, list[ast.stmt]] = {}
        self._branches: dict[int, Branch] = {}
        if self.tree is not None:
            for node in ast.walk(self.tree):
                if isinstance(node, ast.stmt):
                    for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                        self._statements.setdefault(line, []).append(node)
                if isinstance(node, ast.If) and node.body:
                    orelse = None
                    if node.orelse:
                        orelse = (node.orelse[0].lineno, node.orelse[-1].end_lineno or node.orelse[-1].lineno)
                    self._branches[node.lineno] = Branch(
                        node.lineno, (node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno), orelse)

    def text(self, line: int) -> str:
        """The line's text without indentation ('' when the trace has no source for it)."""
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].strip()
        return ""

    def statement(self, line: int) -> ast.stmt | None:
        """The innermost statement that contains ``line``."""
        candidates = self._statements.get(line)
        if not candidates:
            return None
        return min(candidates, key=lambda node: (node.end_lineno or node.lineno) - node.lineno)

    def own_expressions(self, line: int) -> list[ast.AST]:
        """The parts of the statement at ``line`` that it evaluates itself (a compound's header, not its body)."""
        node = self.statement(line)
        if node is None:
            return []
        if not any(getattr(node, name, None) for name in _BODY_FIELDS):
            return [node]
        parts: list[ast.AST] = []
        for name, value in ast.iter_fields(node):
            if name in _BODY_FIELDS or name == "decorator_list":
                continue
            if isinstance(value, ast.AST):
                parts.append(value)
            elif isinstance(value, list):
                parts.extend(item for item in value if isinstance(item, ast.AST))
        return parts

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node`` (unparsed when the text cannot be cut out)."""
        text = ast.get_source_segment(self.source, node)
        return text if text is not None else ast.unparse(node)

    def branch(self, line: int) -> Branch | None:
        return self._branches.get(line)

    def is_docstring(self, line: int) -> bool:
        """Whether the statement at ``line`` is a bare string (a docstring)."""
        node = self.statement(line)
        return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str))

    def code_kind(self, line: int) -> str:
        """``class``, ``generator`` or ``function`` for the code object that starts at ``line``."""
        node = self.statement(line)
        if isinstance(node, ast.ClassDef):
            return "class"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in _own_nodes(node):
                if isinstance(child, (ast.Yield, ast.YieldFrom)):
                    return "generator"
        return "function"

    def defines(self, line: int) -> str | None:
        """``def``/``class``/``import`` when the statement starting at ``line`` is one (its effect is a binding)."""
        node = self.statement(line)
        if node is None or node.lineno != line and not _is_decorated_at(node, line):
            return None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return "def"
        if isinstance(node, ast.ClassDef):
            return "class"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return "import"
        return None


def _is_decorated_at(node: ast.stmt, line: int) -> bool:
    return any(getattr(d, "lineno", None) == line for d in getattr(node, "decorator_list", ()))


@lru_cache(maxsize=64)
def source_index(source: str) -> SourceIndex:
    """A shared, cached ``SourceIndex`` for a source text."""
    return SourceIndex(source)


def understanding_the_function(source: str, func: str) -> str:
    """A "### Understanding the Function" section built from the function's syntax alone.

    Every sentence is read off the code: the parameters, the names it assigns, its loops and
    their iterables, its conditions, the calls it makes, what it returns. It says nothing
    about intent it cannot see. Returns '' when ``func`` is not defined in ``source``.
    """
    index = source_index(source)
    if index.tree is None:
        return ""
    node = next((n for n in ast.walk(index.tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func), None)
    if node is None:
        return ""
    params = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    if node.args.vararg:
        params.append("*" + node.args.vararg.arg)
    if node.args.kwarg:
        params.append("**" + node.args.kwarg.arg)
    sentences = [f"The function `{func}` takes "
                 + (f"the parameter{'s' if len(params) > 1 else ''} " + ", ".join(f"`{p}`" for p in params)
                    if params else "no parameters") + "."]
    assigned: list[str] = []
    loops: list[str] = []
    conditions: list[str] = []
    returns: list[str] = []
    calls: list[str] = []
    for child in _own_nodes(node):
        if isinstance(child, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and name.id not in assigned and name.id not in params:
                        assigned.append(name.id)
        elif isinstance(child, (ast.For, ast.AsyncFor)):
            loops.append(f"a `for` loop over `{index.segment(child.iter)}` with `{index.segment(child.target)}`")
        elif isinstance(child, ast.While):
            loops.append(f"a `while` loop that runs while `{index.segment(child.test)}`")
        elif isinstance(child, ast.If):
            conditions.append(f"`{index.segment(child.test)}`")
        elif isinstance(child, ast.Return):
            returns.append(f"`{index.segment(child.value)}`" if child.value is not None else "`None`")
        elif isinstance(child, ast.Call):
            name = index.segment(child.func)
            if name not in calls and len(name) <= 40:
                calls.append(name)
    if assigned:
        sentences.append("It assigns " + ", ".join(f"`{n}`" for n in assigned[:8])
                         + (" and more" if len(assigned) > 8 else "") + ".")
    if loops:
        sentences.append("It has " + "; ".join(loops[:4]) + ".")
    if conditions:
        sentences.append("It checks " + ", ".join(conditions[:4]) + ".")
    if calls:
        sentences.append("It calls " + ", ".join(f"`{c}`" for c in calls[:6]) + ".")
    if returns:
        sentences.append("It returns " + " or ".join(dict.fromkeys(returns[:4])) + ".")
    elif any(isinstance(child, (ast.Yield, ast.YieldFrom)) for child in _own_nodes(node)):
        sentences.append("It contains `yield`, so calling it makes a generator.")
    else:
        sentences.append("It has no `return` statement, so it returns `None`.")
    return "### Understanding the Function\n" + "\n".join(sentences)


def _own_nodes(func: ast.AST) -> list[ast.AST]:
    """Nodes of ``func``'s body in source order, not descending into nested functions, classes or lambdas."""
    found = []
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.arguments)):
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    return found
