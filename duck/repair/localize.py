"""Fault localisation from a recording: which lines of the program most likely hold the bug.

Starting from the failing step (the raising line, the print that first went wrong, the
failed assert), ``suspicious_lines`` walks the *backward slice over recorded values*: for
each name the line reads, ``Session.last_change`` gives the step that last wrote it, and
the line that ran just before that step in its frame is the writer (for a ``call`` event
the writer is the caller's line: the value is an argument). Values returned by a call are
followed into the callee's ``return`` line, and the headers of the ``if``/``for``/``while``
around a line (its control dependence) join the slice too. The run is also cut into the tests it
holds (``test_segments``: each module-level statement, each pytest test), and each line gets its
spectrum-based Ochiai score over them (the asserts that passed before the failing one, and the
tests a pytest summary names). Lines are ranked by both: slice distance and Ochiai; lines that
ran but are not on the slice follow by their Ochiai score, then the rest.

This module reads a ``Session``; it does not edit code or run anything.
"""

from __future__ import annotations

import ast
import math
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
        if event.kind == "exception":
            # the line that raised: what its calls returned is on the slice (a failed `assert f(x) == y`)
            before = _previous_in_frame(session, event.frame, step)
            if before is not None and session.line(before) == event.line and session.kind(before) == "line":
                queue.append((before, hops))
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


@dataclass(frozen=True)
class Segment:
    """One test the recording holds: a module-level statement of the program (an ``assert``, a
    ``print``), or one test function's call; ``failed`` is None when its outcome is unknown."""

    first: int
    last: int
    name: str
    failed: bool | None


EXACT_SCAN_STEPS = 2_000     # runs up to this long are scanned step by step for their top-level frames


def outermost_frames(session: Session) -> set[int]:
    """The frames with no parent. A long run (a recursion of millions of steps) is not read
    step by step: from each top-level frame the scan jumps to the step after its end, a few
    lookups per top-level frame (a top-level generator resumed between other top-level frames
    then hides them; only a run this long pays that)."""
    if len(session) <= EXACT_SCAN_STEPS:
        return {session.frame(step) for step in range(len(session)) if session.frame_parent(session.frame(step)) is None}
    found: set[int] = set()
    step, total = 0, len(session)
    while step < total:
        frame = session.frame(step)
        while (parent := session.frame_parent(frame)) is not None:
            frame = parent
        found.add(frame)
        try:
            end = session.frame_end_step(frame)
        except KeyError:
            end = step
        step = max(end, step) + 1
    return found


def test_segments(session: Session, failing_step: int | None,
                  statuses: dict[str, bool] | None = None) -> list[Segment]:
    """The run cut into tests, in order: each module-level statement of an outermost
    ``<module>`` frame, and each outermost function call (a pytest test), whole.

    The segment holding ``failing_step`` failed; a function whose name ``statuses`` knows
    (test name -> failed) has that outcome; a segment that ended before the failing one
    began passed (its output or its asserts were checked and went on); later ones are unknown.
    """
    if not len(session):
        return []
    raw: list[tuple[int, int, str]] = []
    outermost = sorted(outermost_frames(session), key=session.frame_call_step)
    for frame in outermost:
        steps = session.frame_steps(frame)
        if not len(steps):
            continue
        end = session.frame_end_step(frame)
        if session.frame_func(frame) == "<module>":
            starts = [step for step in steps if session.kind(step) == "line"]
            for index, start in enumerate(starts):
                stop = starts[index + 1] - 1 if index + 1 < len(starts) else end
                raw.append((start, stop, f"line {session.line(start)}"))
        else:
            raw.append((steps[0], end, session.frame_func(frame)))
    raw.sort()
    failing_first = None
    if failing_step is not None:
        for first, last, _ in raw:
            if first <= failing_step <= last:
                failing_first = first
    segments = []
    for first, last, name in raw:
        short = name.rsplit(".", 1)[-1]
        if failing_first is not None and first == failing_first:
            failed: bool | None = True
        elif statuses and short in statuses:
            failed = statuses[short]
        elif failing_first is not None and last < failing_first:
            failed = False
        else:
            failed = None
        segments.append(Segment(first, last, name, failed))
    return segments


def ochiai(session: Session, file: str, segments: list[Segment]) -> dict[int, float]:
    """Spectrum-based suspiciousness of each line of ``file`` that ran (Ochiai: failing runs
    covering the line over sqrt(all failing runs x runs covering it)); empty without a failing test."""
    failed_total = sum(1 for s in segments if s.failed)
    if not failed_total:
        return {}
    covered_failed: dict[int, int] = {}
    covered_passed: dict[int, int] = {}
    for segment in segments:
        if segment.failed is None:
            continue
        lines = {session.line(step) for step in range(segment.first, min(segment.last, MAX_SPECTRUM_STEP) + 1)
                 if session.kind(step) == "line" and session.file(step) == file}
        target = covered_failed if segment.failed else covered_passed
        for line in lines:
            target[line] = target.get(line, 0) + 1
    scores = {}
    for line in set(covered_failed) | set(covered_passed):
        ef, ep = covered_failed.get(line, 0), covered_passed.get(line, 0)
        scores[line] = ef / math.sqrt(failed_total * (ef + ep)) if ef else 0.0
    return scores


MAX_SPECTRUM_STEP = 400_000   # steps of a long run looked at for coverage
SLICE_WEIGHT = 0.5            # a line's score: this much from the backward slice, the rest from Ochiai


def suspicious_lines(session: Session, file: str, failing_step: int | None,
                     statuses: dict[str, bool] | None = None) -> list[Suspect]:
    """Lines of ``file`` ranked most suspicious first (every statement line appears once).

    A line's score mixes its distance from the failure on the backward slice with its Ochiai
    score over the tests the run holds (``test_segments``: the passing asserts or tests before
    the failing one, and every test a pytest summary names); with a single test, Ochiai is 1
    for every line it ran and the slice decides.
    """
    suspects: dict[int, Suspect] = {}
    spectrum = ochiai(session, file, test_segments(session, failing_step, statuses)) if len(session) else {}
    passing = bool(spectrum) and min(spectrum.values()) < 1.0
    on_slice: dict[int, int] = {}
    if failing_step is not None and len(session):
        for (path, line), hops in backward_slice(session, failing_step).items():
            if path == file:
                on_slice[line] = hops
    for line, hops in on_slice.items():
        score = SLICE_WEIGHT / (1 + hops) + (1 - SLICE_WEIGHT) * spectrum.get(line, 1.0)
        reason = "the failing line" if not hops else "on the failure's backward slice"
        if passing:
            reason += f", Ochiai {spectrum.get(line, 1.0):.2f}"
        suspects[line] = Suspect(line, score, reason)
    executed = session.executed_lines(file) if len(session) else {}
    for line in executed:
        if line not in suspects:
            value = spectrum.get(line, 0.1)
            suspects[line] = Suspect(line, 0.05 + 0.4 * value, f"ran in the failing run, Ochiai {value:.2f}"
                                     if passing else "ran in the failing run")
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
