"""Ranking verified fixes: the smallest fix that keeps the most of the program's behaviour wins.

A weak oracle (one assert, one expected line) lets several patches through; most of them are
wrong on other inputs. What tells them apart, in this order:

1. ``size``: lines the fix touches, a replaced line once (``lines_touched``: a one-line
   change beats an inserted two-line base case);
2. ``argument_name_gain``: how many more call arguments are named like the parameter they
   fill (``percent(whole, part)`` for ``def percent(part, whole)`` is a swap waiting to be
   undone: the name-based bug signal of DeepBugs);
3. ``redundancy_gain``: how many more forms a linter flags as redundant the fix leaves
   (``not a < b``, ``x + 0``, ``a and a``: ``redundant_forms``). Buggy code is less natural
   than its fix; a fix that turns the operator inside ``not x > y`` keeps the bug's odd shape
   where dropping the ``not`` is the fix;
4. ``agreement``: on calls derived from the recorded ones (``duck.repair.probe``), how often
   the fix answers like the buggy program: a correct fix changes the corner the bug got
   wrong, a wrong one that happens to pass changes much more;
5. ``passing_distance``: how many recorded events of the tests that passed in the buggy run the
   fixed run does not share, aligned by line and values (difflib over the two recordings, test
   by test): a right fix keeps the passing tests' execution (PATCH-SIM);
6. ``lines_run``: distinct lines of the fixed file its run executed, more first: a fix that
   passes by leaving code dead (an early ``return`` turned to the expected constant) is the
   functionality-deleting kind of plausible patch (Qi et al., ISSTA 2015; the anti-patterns of
   Tan et al., FSE 2016);
7. ``naturalness`` (``duck.repair.naturalness``): how often the standard library writes the
   shapes of the expressions the fix brings in, more first (``x % 2 == 0`` over ``x // 2 == 1``
   when the tests that passed cannot tell them apart: buggy code is less natural than its fix);
8. ``behaviour_distance``: the same count as ``passing_distance`` up to and with the failing
   test. In the failing test a right fix must depart from the buggy run, by however much the
   bug needs: PATCH-SIM reads departure there as a sign of a right fix, not of a wrong one,
   and a wrong fix that passes by coincidence often departs least (it returns early with the
   expected value where the right one runs the loop to its end). So it only breaks the ties
   that everything above leaves (a fix that changes one loop iteration before one that
   changes three);
9. the candidate's place in the search's order (its line's suspiciousness times how likely its
   kind of edit is: fault localisation's prior), never the time it finished; then the changed
   characters.

Before all of these: a *degenerate* fix (``degenerate_reason``: a condition made constant,
``while False`` or ``if m < m``; a loop whose body no longer runs; ``duck.repair.probe``: a
function that now gives one answer to every input) goes last, so it is first only when nothing
else passed, and then it says so.

This module compares source texts and recorded sessions; it runs nothing.
"""

from __future__ import annotations

import ast
import difflib
from typing import Callable

from duck.repair.naturalness import naturalness
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


def _keys(session: Session, relative: Callable[[str], str], program: str, mapping: dict[int, int] | None,
          steps: range | None = None) -> list:
    keys = []
    for step in steps if steps is not None else range(min(len(session), MAX_EVENTS)):
        event = session.event(step)
        file = relative(event.file)
        line = event.line
        if mapping is not None and file == program:
            line = mapping.get(line, -line)
        keys.append((file, line, event.kind, tuple(sorted(event.changes.items())),
                     event.value if event.kind == "return" else None, event.stdout))
    return keys


def _distance(a: list, b: list) -> int:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks())
    return len(a) + len(b) - 2 * shared


def behaviour_distance(buggy: Session, fixed: Session, *, buggy_relative: Callable[[str], str],
                       fixed_relative: Callable[[str], str], program: str, mapping: dict[int, int],
                       failing: tuple[int, int] | None = None, passing_only: bool = False,
                       statuses: dict[str, bool] | None = None) -> int:
    """Recorded events of either run that the other does not share (0: the same run).

    With ``failing`` (the buggy run's steps of the test that failed) the runs are compared test
    by test (the k-th test of the fixed run against the k-th of the buggy one) up to and with
    the failing test: where the failure stopped the buggy program the tests after it never ran,
    so what a fix does there is no departure from it (a fix whose later tests run longer is not
    the worse for it); where they ran (``duck.sandbox.each_assert``) the passing ones among
    them count in ``passing_only``.
    ``passing_only``: only the tests that passed before the failing one (PATCH-SIM, Xiong et
    al., ICSE 2018: a right fix keeps the passing tests' execution; in the failing test it must
    depart, by however much the bug needs); 0 when none passed. ``statuses`` (test name ->
    failed, as ``test_segments`` takes them) names tests after the failing one that ran and
    passed (every assert run as its own test): ``passing_only`` compares those too."""
    if failing is None:
        if passing_only:
            return 0
        return _distance(_keys(buggy, buggy_relative, program, None), _keys(fixed, fixed_relative, program, mapping))
    from duck.repair.localize import test_segments

    before = test_segments(buggy, failing[0], statuses)
    after = test_segments(fixed, None)
    last = next((index for index, segment in enumerate(before) if segment.failed), None)
    if last is None or len(after) <= last:
        if passing_only:
            return 0
        return _distance(_keys(buggy, buggy_relative, program, None), _keys(fixed, fixed_relative, program, mapping))
    pairs = zip(before, after) if passing_only else zip(before[:last + 1], after)
    total, budget = 0, MAX_EVENTS
    for mine, theirs in pairs:
        if passing_only and mine.failed is not False:
            continue
        if budget <= 0:
            break
        a = range(mine.first, min(mine.last + 1, mine.first + budget))
        b = range(theirs.first, min(theirs.last + 1, theirs.first + budget))
        budget -= len(a)
        total += _distance(_keys(buggy, buggy_relative, program, None, a),
                           _keys(fixed, fixed_relative, program, mapping, b))
    return total


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


_IDENTITY = {ast.Add: (0,), ast.Sub: (0,), ast.Mult: (1,), ast.Div: (1,), ast.FloorDiv: (1,), ast.Pow: (1,)}
_SELF_CANCELLING = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.BitXor)


def _number(node: ast.AST, values: tuple) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value in values


def redundant_forms(source: str) -> int:
    """Expressions a linter flags as redundant, that nobody writes on purpose: ``not a < b``
    (pylint unneeded-not; ``not x in y``, ``not x is y``: pycodestyle E713/E714), ``not not x``,
    a comparison of an expression with itself (comparison-with-itself), ``x - x``-like
    self-cancelling operations, ``x + 0`` / ``x * 1``-like identities, ``-0``, ``a and a``,
    ``x if c else x``, ``== None`` / ``== True`` (singleton-comparison).

    Buggy code is less natural than its fix (Ray et al., "On the naturalness of buggy code",
    ICSE 2016), so of two fixes that pass, the one that leaves more of these forms is the less
    likely one: it keeps the odd shape of the bug (``not x > y`` with its operator turned,
    where dropping the ``not`` is the fix) or makes one of its own."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not) and (isinstance(node.operand, ast.Compare) and len(node.operand.ops) == 1
                                                 or isinstance(node.operand, ast.UnaryOp)
                                                 and isinstance(node.operand.op, ast.Not)):
                count += 1
            elif isinstance(node.op, ast.USub) and _number(node.operand, (0,)):
                count += 1
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for left, op, right in zip(operands, node.ops, operands[1:]):
                if ast.dump(left) == ast.dump(right):
                    count += 1
                elif isinstance(op, (ast.Eq, ast.NotEq)) and any(
                        isinstance(side, ast.Constant) and (side.value is None or isinstance(side.value, bool))
                        for side in (left, right)):
                    count += 1
        elif isinstance(node, ast.BinOp):
            if isinstance(node.op, _SELF_CANCELLING) and ast.dump(node.left) == ast.dump(node.right):
                count += 1
            elif _number(node.right, _IDENTITY.get(type(node.op), ())) or \
                    (isinstance(node.op, (ast.Add, ast.Mult)) and _number(node.left, _IDENTITY[type(node.op)])):
                count += 1
        elif isinstance(node, ast.BoolOp):
            dumps = [ast.dump(value) for value in node.values]
            count += len(dumps) - len(set(dumps))
        elif isinstance(node, ast.IfExp) and ast.dump(node.body) == ast.dump(node.orelse):
            count += 1
    return count


def redundancy_gain(before: str, after: str) -> int:
    """How many more redundant forms (``redundant_forms``) the fixed text has than the buggy one."""
    return redundant_forms(after) - redundant_forms(before)


def lines_run(session: Session | None, file: str) -> int:
    """Distinct lines of ``file`` a run executed."""
    return len(session.executed_lines(file)) if session is not None else 0


_REFLEXIVE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot)


def constant_conditions(source: str) -> dict[int, bool]:
    """line -> value of each ``if``/``while``/conditional expression whose test is a constant
    (``while False``, ``if not True``) or compares an expression with itself (``if m < m``)."""
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
            elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], _REFLEXIVE) \
                    and ast.dump(test.left) == ast.dump(test.comparators[0]):  # `m < m`: always False
                found[node.lineno] = isinstance(test.ops[0], (ast.Eq, ast.LtE, ast.GtE, ast.Is)) != negated
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


def before_recording_key(degenerate: bool, size: int, name_gain: int, agreement: int, redundancy: int = 0) -> tuple:
    """The part of ``rank_key`` known before a fix is recorded. A recording only makes it worse
    (a loop found dead makes the fix degenerate) or breaks its ties (``behaviour_distance``), so
    once enough recorded fixes have a better key than the best unrecorded one, recording the
    rest cannot change the first ones of the ranked list."""
    return (degenerate, size, -name_gain, redundancy, -agreement)


def rank_key(fix, order: int) -> tuple:
    """Sort key of a verified ``duck.repair.search.Fix``: best first (see the module docstring)."""
    return before_recording_key(bool(fix.degenerate), fix.size, fix.name_gain, fix.agreement,
                                redundancy_gain(fix.original_source, fix.patched_source)) + (
        fix.passing_distance, -fix.lines_run, -naturalness(fix.original_source, fix.patched_source),
        fix.behaviour_distance, order,
        changed_chars(fix.original_source, fix.patched_source))


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
        (redundancy_gain(best.original_source, best.patched_source)
         < redundancy_gain(other.original_source, other.patched_source),
         "fix 2 leaves a redundant form (such as `not a < b`, `x + 0`) that this one does not"),
        (best.agreement > other.agreement, f"it keeps the buggy program's answers on {best.agreement} of "
                                           f"{best.probe_calls} calls near the recorded ones, fix 2 on "
                                           f"{other.agreement}"),
        (best.passing_distance < other.passing_distance,
         f"it departs less from the buggy run in the tests that passed ({best.passing_distance} recorded "
         f"events differ, fix 2: {other.passing_distance})"),
        (best.lines_run > other.lines_run, f"its run executes {best.lines_run} lines of the program, fix 2 only "
                                           f"{other.lines_run}: fix 2 leaves more of the code dead"),
        (naturalness(best.original_source, best.patched_source)
         > naturalness(other.original_source, other.patched_source),
         "the tests that passed do not tell the two apart, and the code it writes has a shape the standard "
         "library writes more often than fix 2's (buggy code is less natural than its fix)"),
        (best.behaviour_distance < other.behaviour_distance,
         f"nothing else tells the two apart, and its run departs less from the buggy run up to the failing "
         f"test ({best.behaviour_distance} recorded events differ, fix 2: {other.behaviour_distance})"),
    ]
    for better, text in reasons:
        if better:
            return text
    return ("the runs do not tell the two apart, and it edits a more suspicious line or makes a likelier "
            "kind of edit (the search's order)")
