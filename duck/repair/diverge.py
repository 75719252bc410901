"""Explaining a fix: the first point where the fixed run departs from the buggy one.

Both runs are walked step by step, comparing what each step ran (file relative to its copy,
line mapped back to the buggy program's numbering, event kind) and what it changed. The
first difference is told in words: a different line taken, or a different value written
by the same line. This module compares two recorded sessions; it runs nothing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from duck.repair.oracle import Verdict, describe_outcome
from duck.session import Session


@dataclass(frozen=True)
class Divergence:
    step: int | None          # the first differing step (None: the runs are the same step for step)
    text: str


def line_map(fixed_source: str, buggy_source: str) -> dict[int, int]:
    """fixed line number -> buggy line number for lines the edit kept or replaced one-for-one."""
    fixed, buggy = fixed_source.splitlines(), buggy_source.splitlines()
    mapping: dict[int, int] = {}
    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, buggy, fixed, autojunk=False).get_opcodes():
        if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):
            for offset in range(b1 - b0):
                mapping[b0 + offset + 1] = a0 + offset + 1
    return mapping


def _key(session: Session, step: int, relative, program: str, mapping: dict[int, int] | None):
    event = session.event(step)
    file = relative(event.file)
    line = event.line
    if mapping is not None and file == program:
        line = mapping.get(line, -line)
    return file, line, event.kind, tuple(sorted(event.changes.items())), event.stdout


def _line_text(session: Session, step: int) -> str:
    event = session.event(step)
    lines = session.source(event.file).splitlines()
    return lines[event.line - 1].strip() if 0 < event.line <= len(lines) else ""


def first_divergence(buggy: Session, fixed: Session, *, buggy_relative, fixed_relative, program: str,
                     buggy_source: str, fixed_source: str, limit: int = 2_000_000) -> Divergence:
    mapping = line_map(fixed_source, buggy_source)
    count = min(len(buggy), len(fixed), limit)
    for step in range(count):
        a = _key(buggy, step, buggy_relative, program, None)
        b = _key(fixed, step, fixed_relative, program, mapping)
        if a == b:
            continue
        bug_event, fix_event = buggy.event(step), fixed.event(step)
        if a[:3] == b[:3]:
            changed = []
            bug_changes, fix_changes = dict(a[3]), dict(b[3])
            for name in sorted(set(bug_changes) | set(fix_changes)):
                if bug_changes.get(name) != fix_changes.get(name):
                    changed.append(f"`{name}` is {fix_changes.get(name, 'unchanged')} in the fixed run "
                                   f"where the buggy run had {bug_changes.get(name, 'it unchanged')}")
            if a[4] != b[4]:
                changed.append(f"it prints {b[4]!r} where the buggy run printed {a[4]!r}")
            previous = _previous_line(buggy, step)
            where = f"after line {previous} (`{_line_text(buggy, _previous_step(buggy, step))}`) runs" \
                if previous else f"at step {step}"
            return Divergence(step, f"The runs agree for {step} steps; {where}, " + "; ".join(changed) + ".")
        if bug_event.kind == fix_event.kind == "line" or a[0] != b[0] or a[1] != b[1]:
            previous = _previous_line(buggy, step)
            after = f"after line {previous} (`{_line_text(buggy, _previous_step(buggy, step))}`), " if previous else ""
            return Divergence(step, f"The runs agree for {step} steps; then, {after}the buggy run goes to line "
                                    f"{bug_event.line} (`{_line_text(buggy, step)}`) while the fixed run goes to line "
                                    f"{fix_event.line} (`{_line_text(fixed, step)}`) in `{fix_event.func}`.")
        return Divergence(step, f"The runs agree for {step} steps; then the buggy run has a `{bug_event.kind}` "
                                f"event at line {bug_event.line} where the fixed run has a `{fix_event.kind}` at line {fix_event.line}.")
    if len(buggy) != len(fixed):
        longer = "fixed" if len(fixed) > len(buggy) else "buggy"
        return Divergence(count, f"The runs agree for all {count} steps of the shorter one; the {longer} run goes on.")
    return Divergence(None, "The two runs take the same steps with the same values.")


def _previous_step(session: Session, step: int) -> int:
    event = session.event(step)
    steps = session.frame_steps(event.frame)
    from bisect import bisect_left

    index = bisect_left(steps, step) - 1
    return steps[index] if index >= 0 else step


def _previous_line(session: Session, step: int) -> int | None:
    previous = _previous_step(session, step)
    return session.event(previous).line if previous != step else None


def explain(divergence: Divergence, buggy: Session, fixed: Session, verdict: Verdict) -> str:
    """The divergence, then how each run ended."""
    return (f"{divergence.text} The buggy run {describe_outcome(buggy.outcome)}; the fixed run "
            f"{describe_outcome(fixed.outcome)}, and {verdict.reason}.")
