"""Ranking verified fixes: the smallest fix that keeps the most of the program's behaviour wins.

A weak oracle (one assert, one expected line) lets several patches through; most of them are
wrong on other inputs. What tells them apart, in this order:

1. ``size``: lines the fix touches, a replaced line once (``lines_touched``: a one-line
   change beats an inserted two-line base case);
2. ``argument_name_gain``: how many more call arguments are named like the parameter they
   fill (``percent(whole, part)`` for ``def percent(part, whole)`` is a swap waiting to be
   undone: the name-based bug signal of DeepBugs);
3. ``agreement``: on calls derived from the recorded ones (``duck.repair.probe``), how often
   the fix answers like the buggy program: a correct fix changes the corner the bug got
   wrong, a wrong one that happens to pass changes much more;
4. ``behaviour_distance``: how many recorded events of the buggy run the fixed run does not
   share, aligned by line and values (difflib over the two recordings). A fix that changes one
   loop iteration beats one that changes three; the calls that went right keep their
   values, so the un-failing part of the run counts for the fix that leaves it alone;
5. the candidate's place in the search's order (its line's suspiciousness times how likely its
   kind of edit is: fault localisation's prior), never the time it finished; then the changed
   characters.

Before all of these: a *degenerate* fix (``degenerate_reason``: a condition made constant, a
loop whose body no longer runs; ``duck.repair.probe``: a function that now gives one answer to
every input) goes last, so it is first only when nothing else passed, and then it says so.

This module compares source texts and recorded sessions; it runs nothing.
"""

from __future__ import annotations

import ast
import difflib
from typing import Callable

from duck.session import Session

MAX_EVENTS = 5000  # events of each run compared (the start of the run; enough to rank small fixes)


def argument_names_agreeing(source: str) -> int:
    """Positional arguments, over every call of a function the source defines, whose name is
    the parameter they are passed to (``f(a, b)`` for ``def f(a, b)`` counts 2)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    params: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params[node.name] = [a.arg for a in node.args.posonlyargs + node.args.args]
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in params:
            names = params[node.func.id]
            for index, arg in enumerate(node.args):
                if index < len(names) and isinstance(arg, ast.Name) and arg.id == names[index]:
                    count += 1
    return count


def argument_name_gain(before: str, after: str) -> int:
    return argument_names_agreeing(after) - argument_names_agreeing(before)


def _keys(session: Session, relative: Callable[[str], str], program: str, mapping: dict[int, int] | None) -> list:
    keys = []
    for step in range(min(len(session), MAX_EVENTS)):
        event = session.event(step)
        file = relative(event.file)
        line = event.line
        if mapping is not None and file == program:
            line = mapping.get(line, -line)
        keys.append((file, line, event.kind, tuple(sorted(event.changes.items())),
                     event.value if event.kind == "return" else None, event.stdout))
    return keys


def behaviour_distance(buggy: Session, fixed: Session, *, buggy_relative: Callable[[str], str],
                       fixed_relative: Callable[[str], str], program: str, mapping: dict[int, int]) -> int:
    """Recorded events of either run that the other does not share (0: the same run)."""
    a = _keys(buggy, buggy_relative, program, None)
    b = _keys(fixed, fixed_relative, program, mapping)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks())
    return len(a) + len(b) - 2 * shared


def first_changed_line(before: str, after: str) -> int:
    """The first line of ``before`` that ``after`` changes (1-based; 0 when they are the same)."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    for tag, a0, _, _, _ in matcher.get_opcodes():
        if tag != "equal":
            return a0 + 1
    return 0


def lines_touched(before: str, after: str) -> int:
    """Lines a patch touches: per changed block, the larger of lines removed and lines added."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    return sum(max(a1 - a0, b1 - b0) for tag, a0, a1, b0, b1 in matcher.get_opcodes() if tag != "equal")


def changed_chars(before: str, after: str) -> int:
    """Characters in the changed middle of the text (after the common prefix and suffix)."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    return max(len(before), len(after)) - prefix - suffix


def constant_conditions(source: str) -> dict[int, bool]:
    """line -> value of each ``if``/``while``/conditional expression whose test is a constant
    (``while False``, ``if not True``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[int, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.While, ast.IfExp)):
            test, negated = node.test, False
            while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                test, negated = test.operand, not negated
            if isinstance(test, ast.Constant):
                found[node.lineno] = bool(test.value) != negated
    return found


def _loop_bodies(source: str) -> list[tuple[int, int]]:
    """(header line, first body line) of every ``for``/``while`` loop."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [(node.lineno, node.body[0].lineno) for node in ast.walk(tree)
            if isinstance(node, (ast.For, ast.While, ast.AsyncFor)) and node.body]


def degenerate_reason(before: str, after: str, buggy: Session | None, fixed: Session | None, *,
                      buggy_file: str, fixed_file: str, mapping: dict[int, int]) -> str | None:
    """Why a fix that passes is suspect by its shape (None: it is not): a condition the edit
    made constant, or a loop whose body ran in the buggy run and never runs in the fixed one
    (``mapping``: fixed line -> buggy line)."""
    old = constant_conditions(before)
    for line, value in sorted(constant_conditions(after).items()):
        if old.get(mapping.get(line, -1)) != value:  # made constant, or the other constant (`while True` -> `while False`)
            return f"the condition at line {line} is now always {value}"
    if buggy is None or fixed is None:
        return None
    ran_before = buggy.executed_lines(buggy_file)
    ran_after = fixed.executed_lines(fixed_file)
    for header, body in _loop_bodies(after):
        if ran_after.get(header) and not ran_after.get(body) and ran_before.get(mapping.get(body, -1)):
            return f"the loop at line {header} no longer runs its body"
    return None


def before_recording_key(degenerate: bool, size: int, name_gain: int, agreement: int) -> tuple:
    """The part of ``rank_key`` known before a fix is recorded. A recording only makes it worse
    (a loop found dead makes the fix degenerate) or breaks its ties (``behaviour_distance``), so
    once enough recorded fixes have a better key than the best unrecorded one, recording the
    rest cannot change the first ones of the ranked list."""
    return (degenerate, size, -name_gain, -agreement)


def rank_key(fix, order: int) -> tuple:
    """Sort key of a verified ``duck.repair.search.Fix``: best first (see the module docstring)."""
    return before_recording_key(bool(fix.degenerate), fix.size, fix.name_gain, fix.agreement) + (
        fix.behaviour_distance, order, changed_chars(fix.original_source, fix.patched_source))


def why_first(fixes: list) -> str:
    """One sentence: why ``fixes[0]`` is ranked before ``fixes[1]`` (the first signal of
    ``rank_key`` that tells them apart), or what the only fix rests on."""
    if not fixes:
        return ""
    best = fixes[0]
    if best.degenerate:
        return (f"every fix that passed is suspect ({best.degenerate}); nothing better passed the oracle, "
                f"so check it before applying it")
    evidence = best.evidence()
    if len(fixes) == 1:
        return f"it is the only fix that passed{': ' + evidence if evidence else ''}"
    other = fixes[1]
    reasons = [
        (bool(other.degenerate), f"fix 2 is suspect: {other.degenerate}"),
        (best.size < other.size, f"it touches {best.size} line(s) where fix 2 touches {other.size}"),
        (best.name_gain > other.name_gain, f"it passes {best.name_gain} more argument(s) to the parameter of "
                                           f"the same name than the buggy code (fix 2: {other.name_gain})"),
        (best.agreement > other.agreement, f"it keeps the buggy program's answers on {best.agreement} of "
                                           f"{best.probe_calls} calls near the recorded ones, fix 2 on "
                                           f"{other.agreement}"),
        (best.behaviour_distance < other.behaviour_distance,
         f"its run departs less from the buggy run ({best.behaviour_distance} recorded events differ, "
         f"fix 2: {other.behaviour_distance})"),
    ]
    for better, text in reasons:
        if better:
            return text
    return ("the runs do not tell the two apart, and it edits a more suspicious line or makes a likelier "
            "kind of edit (the search's order)")
