"""What the narrator needs to know about the recorded source: line text, statements, branches.

``SourceIndex`` parses one file's recorded text once (with ``ast``) and answers questions
by line number: the text of a line, the statement that contains it, the expressions a
statement evaluates itself (not its body), where an ``if``'s branches lie, and which code
object a recorded frame ran (``code_object``: a module's top level, a class body, a
function, generator, coroutine or async generator, a property's getter or setter, a
static or class method, a comprehension), read off the frame's recorded name and first
line and the decorators written in the source. It also writes the static "### Understanding
the Function" section for a function, from its syntax only.

It never runs code and never reads a file from disk: the text comes from the trace.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


#: Comprehensions by the name Python gives their code object.
_COMPREHENSIONS = {"<listcomp>": "list comprehension", "<setcomp>": "set comprehension",
                   "<dictcomp>": "dict comprehension", "<genexpr>": "generator expression"}
def written_names(values: dict) -> dict:
    """``values`` (name -> anything) without the arguments Python passes a comprehension's code object
    itself (``.0``, the iterator of its first ``for``: not an identifier). They are not names the
    program wrote, so neither the narrator nor the variables pane shows them."""
    return {name: value for name, value in values.items() if name.isidentifier()}


#: Decorators that say what a function is (``@property`` makes a getter, ``@x.setter`` a setter).
_ROLE_DECORATORS = {"property": "getter", "getter": "getter", "setter": "setter", "deleter": "deleter",
                    "cached_property": "getter", "staticmethod": "static method",
                    "classmethod": "class method"}
#: The value an async generator hands out when it yields (its ``await``s hand out others).
ASYNC_YIELD_VALUE = "<async_generator_wrapped_value object>"


@dataclass(frozen=True)
class CodeObject:
    """What a recorded frame ran, read off its recorded name, its first line and the source.

    ``kind`` is ``module``, ``class``, ``function``, ``generator``, ``coroutine`` or ``async
    generator`` (how the frame behaves: a generator's activations end at its yields, a
    coroutine's suspensions are awaits); ``role`` is ``getter``, ``setter`` or ``deleter`` (of
    the property ``name``), ``static method``, ``class method``, ``comprehension``, ``lambda``
    or '' for a plain function; ``decorators`` are the other decorators as written.
    """

    kind: str
    qualname: str
    name: str
    role: str = ""
    decorators: tuple[str, ...] = ()
    comprehension: str = ""

    @property
    def suspends(self) -> bool:
        """Whether the frame can be left and resumed (a generator, coroutine or async generator)."""
        return self.kind in ("generator", "coroutine", "async generator")



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
        self._codes: dict[int, list[ast.AST]] = {}  # a code object's first line -> its nodes
        if self.tree is not None:
            for node in ast.walk(self.tree):
                if isinstance(node, _CODE_NODES):
                    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
                    self._codes.setdefault(first, []).append(node)
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

    def code_object(self, qualname: str, first_line: int, module: str = "") -> CodeObject:
        """The code object a frame ran, from its recorded qualified name and first line.

        ``first_line`` is the line of the frame's ``call`` event (the code's first line: its
        first decorator's, or 1 for a module). The node is the ``def``/``class``/lambda/
        comprehension starting there whose name matches; without one (no source, an unknown
        name) the name alone decides. ``module`` names a module's top level.
        """
        name = qualname.rsplit(".", 1)[-1]
        if qualname == "<module>":
            return CodeObject("module", qualname, module or name)
        node = self._code_node(name, first_line)
        if name in _COMPREHENSIONS:
            asynchronous = node is not None and _awaits(node)
            kind = "generator" if name == "<genexpr>" else "function"
            if asynchronous:
                kind = "async generator" if kind == "generator" else "coroutine"
            return CodeObject(kind, qualname, name, "comprehension", comprehension=_COMPREHENSIONS[name])
        if name == "<lambda>":
            return CodeObject("function", qualname, name, "lambda")
        if isinstance(node, ast.ClassDef):
            return CodeObject("class", qualname, name)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return CodeObject("function", qualname, name)
        yields = any(isinstance(child, (ast.Yield, ast.YieldFrom)) for child in _own_nodes(node))
        if isinstance(node, ast.AsyncFunctionDef):
            kind = "async generator" if yields else "coroutine"
        else:
            kind = "generator" if yields else "function"
        role, others = "", []
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            last = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if not role and last in _ROLE_DECORATORS and (last in ("property", "cached_property", "staticmethod",
                                                                   "classmethod") or isinstance(target, ast.Attribute)):
                role = _ROLE_DECORATORS[last]
            else:
                others.append(self.segment(decorator))
        return CodeObject(kind, qualname, name, role, tuple(others))

    def _code_node(self, name: str, first_line: int) -> ast.AST | None:
        candidates = self._codes.get(first_line, [])
        for node in candidates:
            if _code_name(node) == name:
                return node
        return None

    def yielded(self, line: int) -> str:
        """The source of the value the statement at ``line`` yields ('' when it yields none or nothing)."""
        for part in self.own_expressions(line):
            for node in _walk_own(part):
                if isinstance(node, ast.Yield) and node.value is not None:
                    return self.segment(node.value)
        return ""

    def suspends_at(self, line: int) -> str:
        """How the statement at ``line`` can suspend its frame: ``await``, ``yield``, ``both`` or ''."""
        parts = self.own_expressions(line)
        node = self.statement(line)
        awaits = any(_awaits(part) for part in parts) or isinstance(node, (ast.AsyncFor, ast.AsyncWith))
        yields = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for part in parts for n in _walk_own(part))
        return "both" if awaits and yields else "await" if awaits else "yield" if yields else ""

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


_CODE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
               ast.DictComp, ast.GeneratorExp)
_NODE_NAMES = {ast.Lambda: "<lambda>", ast.ListComp: "<listcomp>", ast.SetComp: "<setcomp>",
               ast.DictComp: "<dictcomp>", ast.GeneratorExp: "<genexpr>"}


def _code_name(node: ast.AST) -> str:
    return getattr(node, "name", None) or _NODE_NAMES.get(type(node), "")


def _walk_own(node: ast.AST):
    """``ast.walk`` that does not enter nested functions, lambdas or classes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child for child in ast.iter_child_nodes(current)
                     if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)))


def _awaits(node: ast.AST) -> bool:
    """Whether ``node`` awaits (``await``, ``async for`` in a comprehension) outside nested functions."""
    return any(isinstance(n, ast.Await) or isinstance(n, ast.comprehension) and n.is_async for n in _walk_own(node))


def module_name(path: str) -> str:
    """``helper`` for ``/abs/helper.py``, ``pkg`` for ``/abs/pkg/__init__.py`` (what ``import`` names it)."""
    parts = path.replace("\\", "/").rstrip("/").split("/")
    stem = parts[-1].rsplit(".", 1)[0] if "." in parts[-1] else parts[-1]
    if stem == "__init__" and len(parts) > 1:
        return parts[-2]
    return stem


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
