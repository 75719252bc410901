"""Run a program with each of its top-level ``assert`` statements judged as its own test.

``python -m duck.sandbox.each_assert PROGRAM [ARGS...]`` (``PROGRAM`` relative to the working
directory or absolute; when that is not found, its name in the working directory) runs ``PROGRAM`` as ``__main__``, as ``python PROGRAM ARGS`` would, one
top-level statement at a time: the module's own statements, and those of a module-level
``if`` (``if __name__ == '__main__':``) once its test holds. A top-level ``assert`` that fails
(its test is false, or what it calls raises an ``Exception``) does not stop the run: the
next statements still run, so every given assert is checked, and at the end the first failure
is raised again, so the run ends as ``python PROGRAM`` would have (the same exception and
traceback). Any other statement that raises ends the run at once, as under Python (with the
first failed assert's exception, when one failed before it).

Each statement is compiled from the program's own syntax tree with its own line numbers and
the program's ``__future__`` flags, so a recording of this run shows the program's lines
and values; this module is outside the program's folder and is not recorded. The repair
search's asserts oracle (``duck.repair.oracle.RunOracle``) runs programs this way, so fault
localisation and ranking see every assert that passes, not only those before the first
failure. Stdlib only: it runs inside the program's process.
"""

from __future__ import annotations

import __future__
import ast
import builtins
import os
import sys
import types

MODULE = "duck.sandbox.each_assert"


def top_level_asserts(tree: ast.Module) -> list[int]:
    """Lines of the asserts this runner judges one by one: in the module's body and in the
    bodies of its module-level ``if`` statements (nested ones too)."""
    found: list[int] = []

    def walk(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Assert):
                found.append(statement.lineno)
            elif isinstance(statement, ast.If):
                walk(statement.body)
                walk(statement.orelse)

    walk(tree.body)
    return found


def _future_flags(tree: ast.Module) -> int:
    flags = 0
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            for alias in statement.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    return flags


class _Run:
    def __init__(self, path: str, tree: ast.Module, namespace: dict) -> None:
        self.path = path
        self.flags = _future_flags(tree)
        self.namespace = namespace
        self.failures: list[BaseException] = []

    def block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.If) and top_level_asserts(ast.Module([statement], [])):
                test = compile(ast.Expression(statement.test), self.path, "eval", flags=self.flags,
                               dont_inherit=True)
                self.block(statement.body if eval(test, self.namespace) else statement.orelse)
                continue
            code = compile(ast.Module([statement], []), self.path, "exec", flags=self.flags, dont_inherit=True)
            if not isinstance(statement, ast.Assert):
                exec(code, self.namespace)
                continue
            try:
                exec(code, self.namespace)
            except MemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - this assert failed; the next ones still run
                self.failures.append(exc)


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(f"usage: python -m {MODULE} PROGRAM [ARGS...]")
    path = os.path.abspath(argv[0])
    if not os.path.exists(path):  # a copy of the program's folder run from the program's folder itself
        path = os.path.abspath(os.path.basename(argv[0]))
    with open(path, "rb") as f:
        source = f.read()
    tree = ast.parse(source, path)
    sys.argv = [path, *argv[1:]]
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path[0] = os.path.dirname(path)  # as `python PROGRAM`: the program's folder, not the cwd
    else:
        sys.path.insert(0, os.path.dirname(path))
    module = types.ModuleType("__main__", ast.get_docstring(tree, clean=False))
    module.__dict__.update({"__file__": path, "__builtins__": builtins, "__cached__": None})
    sys.modules["__main__"] = module
    run = _Run(path, tree, module.__dict__)
    try:
        run.block(tree.body)
    except (Exception, SystemExit):
        if run.failures:  # Python would have stopped at the first failed assert
            raise run.failures[0] from None
        raise
    if run.failures:
        raise run.failures[0]


if __name__ == "__main__":
    main(sys.argv[1:])
