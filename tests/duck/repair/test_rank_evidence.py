"""Ranking evidence that generalises (issue 15): passing-test behaviour only, redundant forms
a linter flags, code a fix leaves dead. Each rule on a program written for it."""

from __future__ import annotations

from pathlib import Path

from duck.repair.diverge import line_map
from duck.repair.oracle import RunOracle
from duck.repair.rank import behaviour_distance, lines_run, rank_key, redundancy_gain, redundant_forms, why_first
from duck.repair.search import Fix, _failing_test


def test_redundant_forms_are_what_a_linter_flags_and_nothing_a_programmer_writes():
    flagged = ["not x > y", "not x in ys", "not not x", "i == i", "x - x", "x + 0", "1 * x", "x ** 1", "-0",
               "a and a", "x if c else x", "x == None", "done != True"]
    plain = ["x <= y", "x not in ys", "not x", "not (a < b or c)", "i == j", "x - 1", "x * 2", "-1", "a and b",
             "x if c else y", "x is None", "2 ** 10", "xs[0:n]", "range(0, n)", "a < b < c"]
    assert [redundant_forms(text) for text in flagged] == [1] * len(flagged)
    assert [redundant_forms(text) for text in plain] == [0] * len(plain)
    buggy = "def is_big(x, limit):\n    return not x > limit\n"
    assert redundancy_gain(buggy, buggy.replace("not x > limit", "x > limit")) == -1
    assert redundancy_gain(buggy, buggy.replace(">", "<")) == 0
    assert redundant_forms("def broken(:\n") == 0


def test_an_operand_is_dropped_from_a_condition_but_not_from_a_value_with_a_default():
    from duck.repair.edits import candidate_edits

    def dropped(source: str) -> set[str]:
        return {e.description for e in candidate_edits(source, [2]) if e.kind == "condition"}

    assert dropped("def f(a, b):\n    return a > 0 and b > 0\n")  # a condition: weaker, stronger
    assert not dropped("def f(word):\n    return ''.join(x.upper() or '_' for x in word)\n")
    assert not dropped("def f(d):\n    return d.get(1) or []\n")


def test_a_condition_that_compares_a_value_with_itself_is_constant_and_degenerate():
    from duck.repair.rank import constant_conditions, degenerate_reason

    buggy = "def avg(n, m):\n    if n < m:\n        return -1\n    return (n + m) // 2\n"
    assert constant_conditions(buggy) == {}
    assert constant_conditions(buggy.replace("n < m", "m < m")) == {2: False}
    assert constant_conditions(buggy.replace("n < m", "not n >= n")) == {2: False}
    turned = buggy.replace("n < m", "m < m")
    assert "line 2 is now always False" in degenerate_reason(buggy, turned, None, None, buggy_file="", fixed_file="",
                                                            mapping=line_map(turned, buggy))
    fine = buggy.replace("n < m", "n > m")
    assert degenerate_reason(buggy, fine, None, None, buggy_file="", fixed_file="", mapping=line_map(fine, buggy)) is None


def test_a_returned_value_may_become_a_constant_the_function_returns_elsewhere_or_none():
    from duck.repair.edits import candidate_edits

    source = ("def is_power(x, n):\n    if x == 1:\n        return True\n    p = n\n    while p <= x:\n"
              "        if p == x:\n            return x\n        p = p * n\n    return False\n")
    wanted = {"`return x` -> `return True`", "`return x` -> `return False`", "`return x` -> `return None`"}
    assert wanted <= {e.description for e in candidate_edits(source, [7])}
    found = {e.description for e in candidate_edits("def f(a, b):\n    if a:\n        return (a, b)\n    return b\n", [4])}
    assert "`return b` -> `return None`" in found and not any("True" in d for d in found)


def _fix(original: str, patched: str, description: str, **evidence) -> Fix:
    return Fix(file=Path("prog.py"), original_source=original, patched_source=patched, diff="", explanation="",
               verified=True, origin="edit", description=description, size=1, **evidence)


def test_a_fix_that_keeps_the_bugs_odd_shape_ranks_after_one_that_removes_it():
    buggy = "def is_big(x, limit):\n    return not x > limit\n"
    turned = _fix(buggy, buggy.replace(">", "<"), "`>` -> `<`")           # not x < limit: wrong at x == limit
    dropped = _fix(buggy, buggy.replace("not x", "x"), "`not` dropped")  # x > limit
    # the search tried the operator first (its order), and nothing else tells them apart
    ranked = sorted([turned, dropped], key=lambda f: rank_key(f, 0 if f is turned else 1))
    assert ranked[0] is dropped
    assert "redundant form" in why_first(ranked)
    # the same rule does not outweigh a smaller fix
    bigger = _fix(buggy, buggy.replace("not x", "x"), "two lines")
    bigger.size = 2
    assert sorted([turned, bigger], key=lambda f: rank_key(f, 0))[0] is turned


def test_a_fix_that_leaves_code_dead_ranks_after_one_that_runs_it():
    buggy = "def f(x):\n    if x < 0:\n        return 0\n    return x * 2\n"
    early = _fix(buggy, buggy.replace("return 0", "return 1"), "early", lines_run=3)
    whole = _fix(buggy, buggy.replace("x < 0", "x < 1"), "whole", lines_run=5)
    ranked = sorted([early, whole], key=lambda f: rank_key(f, 0 if f is early else 1))
    assert ranked[0] is whole
    assert "leaves more of the code dead" in why_first(ranked)


GUARD = '''def woodall(x):
    if not (x <= 0 or x % 2 == 0):
        return False
    x += 1
    i = 0
    while x % 2 == 0:
        x //= 2
        i += 1
        if i == x:
            return True
    return False


assert woodall(7) == True
assert woodall(8) == False
'''


def test_lines_run_counts_the_code_a_fix_leaves_dead(write, recorded):
    # `return False` -> `return True` passes both asserts without ever running the loop
    early = GUARD.replace("        return False\n    x += 1", "        return True\n    x += 1")
    right = GUARD.replace("if not (x", "if (x")
    counts = {}
    for name, text in (("early", early), ("right", right)):
        prog = write(f"{name}/prog.py", text)
        session = recorded(prog)
        assert session.outcome.get("exit_code") == 0, session.outcome
        counts[name] = lines_run(session, str(prog))
    assert counts["right"] > counts["early"]


SQUARE = '''def square(x):
    if x > 2:
        return x * x + 1
    return x * x


assert square(2) == 4
assert square(3) == 9
assert square(4) == 16
'''


def test_behaviour_distance_leaves_out_the_tests_the_buggy_run_never_reached(write, recorded):
    """The buggy run stopped at its failing assert: what a fix does in the asserts after it is
    no departure from the buggy program, so two fixes that run the same way up to there are
    equally close, however long their later tests run."""
    buggy_prog = write("buggy/prog.py", SQUARE)
    buggy = recorded(buggy_prog)
    failing = _failing_test(buggy, RunOracle(has_asserts=True).failing_step(buggy))
    assert failing is not None
    last = "assert square(4) == 16\n"
    fixes = {"short": SQUARE.replace(" + 1", ""),
             "long": SQUARE.replace(" + 1", "").replace(last, last + "assert [square(i) for i in range(30)][4] == 16\n"),
             "turned": SQUARE.replace(" + 1", "").replace("x > 2", "x > 1")}   # square(2), which passed, runs otherwise
    distance, passing = {}, {}
    for name, text in fixes.items():
        prog = write(f"{name}/prog.py", text)
        session = recorded(prog)
        assert session.outcome.get("exit_code") == 0, session.outcome
        relative = {"buggy_relative": lambda p: str(Path(p).relative_to(buggy_prog.parent)),
                    "fixed_relative": lambda p, root=prog.parent: str(Path(p).relative_to(root))}
        distance[name] = behaviour_distance(buggy, session, program="prog.py", mapping=line_map(text, SQUARE),
                                            failing=failing, **relative)
        passing[name] = behaviour_distance(buggy, session, program="prog.py", mapping=line_map(text, SQUARE),
                                           failing=failing, passing_only=True, **relative)
        whole = behaviour_distance(buggy, session, program="prog.py", mapping=line_map(text, SQUARE), **relative)
        assert whole > distance[name]
    assert distance["short"] == distance["long"] > 0
    # the test that passed (square(2)): the fixes that keep its run, and the one that does not
    assert passing["short"] == passing["long"] == 0 < passing["turned"]


def test_a_long_runs_top_level_frames_are_found_without_reading_every_step(write, recorded, monkeypatch):
    from duck.repair import localize

    prog = write("fib.py", "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n\n"
                           "assert fib(6) == 8\nvalues = [fib(i) for i in range(5)]\nprint(values)\n")
    session = recorded(prog)
    exact = localize.outermost_frames(session)
    assert exact == {session.frame(step) for step in range(len(session))
                     if session.frame_parent(session.frame(step)) is None}
    monkeypatch.setattr(localize, "EXACT_SCAN_STEPS", 0)   # as a run of millions of steps would be read
    assert localize.outermost_frames(session) == exact
    assert [s.name for s in localize.test_segments(session, None)][-3:] == ["line 5", "line 6", "line 7"]
