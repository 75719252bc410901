"""Fault localisation from a recording: which lines of the program most likely hold the bug.

Starting from the failing step (the raising line, the print that first went wrong, the
failed assert), ``suspicious_lines`` walks the *backward slice over recorded values*: for
each name the line reads, ``Session.last_change`` gives the step that last wrote it, and
the line that ran just before that step in its frame is the writer (for a ``call`` event
the writer is the caller's line: the value is an argument). Values returned by a call are
followed into the callee's ``return`` line, and the headers of the ``if``/``for``/``while``
around a line (its control dependence) join the slice too. Lines are ranked by their
distance from the failure; lines that ran but are not on the slice follow, then the rest.

This module reads a ``Session``; it does not edit code or run anything.
"""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from duck.session import Session


@dataclass(frozen=True)
class Suspect:
    line: int
    score: float
    reason: str


class _SourceIndex:
    """Per line of one file: the names its statement reads, and its enclosing control headers."""

    def __init__(self, source: str) -> None:
        self.reads: dict[int, set[str]] = {}
        self.headers: dict[int, list[int]] = {}
        self.statements: set[int] = set()
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return
        self._walk(tree, [])

    def _walk(self, node: ast.AST, headers: list[int]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self._statement(child, headers)
            else:
                self._walk(child, headers)

    def _statement(self, statement: ast.stmt, headers: list[int]) -> None:
        line = statement.lineno
        self.statements.add(line)
        self.headers[line] = list(headers)
        if isinstance(statement, (ast.If, ast.While)):
            parts: list[ast.AST] = [statement.test]
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            parts = [statement.iter]
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            parts = []
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            parts = [item.context_expr for item in statement.items]
        elif isinstance(statement, ast.Try):
            parts = []
        else:
            parts = [statement]
        names = {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
        for extra_line in range(line, (getattr(statement, "end_lineno", None) or line) + 1):
            if not isinstance(statement, (ast.If, ast.While, ast.For, ast.AsyncFor, ast.FunctionDef,
                                          ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.Try)):
                self.reads.setdefault(extra_line, set()).update(names)
        self.reads.setdefault(line, set()).update(names)
        inner = headers + [line] if isinstance(statement, (ast.If, ast.While, ast.For, ast.AsyncFor)) else headers
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = []
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            for child in getattr(statement, field_name, []) or []:
                if isinstance(child, ast.stmt):
                    self._statement(child, inner)
                elif isinstance(child, ast.ExceptHandler):
                    for grandchild in child.body:
                        self._statement(grandchild, inner)


@lru_cache(maxsize=32)
def _index(source: str) -> _SourceIndex:
    return _SourceIndex(source)


def _previous_in_frame(session: Session, frame: int, step: int) -> int | None:
    """The frame's own event just before ``step``."""
    steps = session.frame_steps(frame)
    index = bisect_left(steps, step) - 1
    return steps[index] if index >= 0 else None


def _writer_step(session: Session, change_step: int) -> int | None:
    """The step whose line produced the change that ``change_step`` reports."""
    event = session.event(change_step)
    if event.kind == "call":
        parent = event.parent
        return None if parent is None else _previous_in_frame(session, parent, change_step)
    return _previous_in_frame(session, event.frame, change_step)


def _callee_returns(session: Session, step: int, scan_limit: int = 5000) -> list[int]:
    """``return`` events of the calls made directly by the line running at ``step``."""
    event = session.event(step)
    steps = session.frame_steps(event.frame)
    index = bisect_left(steps, step)
    stop = steps[index + 1] if index + 1 < len(steps) else min(len(session), step + scan_limit)
    found = []
    for later in range(step + 1, min(stop, step + scan_limit)):
        other = session.event(later)
        if other.kind == "return" and other.depth == event.depth + 1:
            found.append(later)
    return found


def _header_step(session: Session, frame: int, step: int, header_line: int) -> int | None:
    steps = session.frame_steps(frame)
    index = bisect_left(steps, step) - 1
    while index >= 0:
        candidate = steps[index]
        if session.line(candidate) == header_line and session.kind(candidate) == "line":
            return candidate
        index -= 1
    return None


def backward_slice(session: Session, failing_step: int, budget: int = 400) -> dict[tuple[str, int], int]:
    """(file, line) -> smallest distance (in slice hops) from the failing step."""
    distance: dict[tuple[str, int], int] = {}
    seen: set[int] = set()
    queue: deque[tuple[int, int]] = deque([(failing_step, 0)])
    while queue and len(seen) < budget:
        step, hops = queue.popleft()
        if step in seen or step < 0 or step >= len(session):
            continue
        seen.add(step)
        event = session.event(step)
        key = (event.file, event.line)
        if key not in distance or distance[key] > hops:
            distance[key] = hops
        index = _index(session.source(event.file))
        if event.kind == "call":
            continue
        for name in sorted(index.reads.get(event.line, ())):
            changed = session.last_change(name, step if event.kind != "line" else step, None)
            if changed is None:
                continue
            writer = _writer_step(session, changed)
            if writer is not None and writer != step:
                queue.append((writer, hops + 1))
        if event.kind == "line":
            for returned in _callee_returns(session, step):
                queue.append((returned, hops + 1))
        for header in index.headers.get(event.line, ()):
            header_step = _header_step(session, event.frame, step, header)
            if header_step is not None:
                queue.append((header_step, hops + 1))
    return distance


def suspicious_lines(session: Session, file: str, failing_step: int | None) -> list[Suspect]:
    """Lines of ``file`` ranked most suspicious first (every statement line appears once)."""
    suspects: dict[int, Suspect] = {}
    if failing_step is not None and len(session):
        for (path, line), hops in backward_slice(session, failing_step).items():
            if path == file:
                suspects[line] = Suspect(line, 1.0 / (1 + hops), "on the failure's backward slice" if hops else "the failing line")
    executed = session.executed_lines(file) if len(session) else {}
    for line in executed:
        if line not in suspects:
            suspects[line] = Suspect(line, 0.05, "ran in the failing run")
    for line in sorted(_index(session.source(file)).statements if len(session) else ()):
        if line not in suspects:
            suspects[line] = Suspect(line, 0.01, "did not run")
    return sorted(suspects.values(), key=lambda s: (-s.score, s.line))


def names_seen(session: Session, file: str) -> dict[int, set[str]]:
    """line -> the locals the recording saw in the frame running that line (candidate variables)."""
    seen: dict[int, set[str]] = {}
    for line in session.executed_lines(file):
        step = session.run_to_line(-1, file, line)
        seen[line] = set(session.locals_at(step)) if step is not None else set()
    return seen
