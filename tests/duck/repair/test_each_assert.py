"""Every top-level assert of a program is its own test (``duck.sandbox.each_assert``): a failing
one does not hide the ones after it from the asserts oracle, localisation and ranking."""

from __future__ import annotations

from pathlib import Path

from duck.repair import RepairRequest, search
from duck.repair.diverge import line_map
from duck.repair import localize
from duck.repair.localize import suspicious_lines
from duck.repair.oracle import RunOracle, assert_outcomes
from duck.repair.rank import behaviour_distance
from duck.repair.search import _failing_test, _test_statuses
from duck.sandbox.each_assert import MODULE
from duck.trace.runner import RecordRequest

CHECKS = '''from __future__ import annotations
import sys


def half(x) -> Undefined:  # the annotation is never evaluated (the program's __future__ flags)
    return x // 2


if __name__ == "__main__":
    assert sys.argv[0].endswith("checks.py") and __file__.endswith("checks.py")
    assert half(4) == 3
    assert half(6) == 3
    assert half(1) == 1
    print("reached the end")
'''

ABSOLUTE = '''def absolute(x):
    if x < 0:
        return x
    return x


if __name__ == "__main__":
    assert absolute(-2) == 2
    assert absolute(3) == 3
    assert absolute(0) == 0
'''


def _record_as_the_search_does(recorded, program: Path):
    oracle = RunOracle(has_asserts=True)
    request = oracle.verify_request(RecordRequest(script=program, cwd=program.parent))
    assert request.module == MODULE and request.argv == [program.name]
    return oracle, recorded(program, module=request.module, argv=request.argv)


def test_every_top_level_assert_runs_and_the_run_ends_with_the_first_failure(write, recorded):
    program = write("checks.py", CHECKS)
    oracle, session = _record_as_the_search_does(recorded, program)
    assert assert_outcomes(session) == {10: False, 11: True, 12: False, 13: True}
    assert "reached the end" in session.stdout  # the statements after the failing asserts ran
    exception = session.outcome["exception"]
    assert session.outcome["outcome"] == "exception" and exception["type"] == "AssertionError"
    assert exception["traceback"][-1]["line"] == 11  # as `python checks.py` would end
    verdict = oracle.judge(session)
    assert not verdict.passed and verdict.reason.endswith("; 2 of its 4 top-level asserts failed")
    assert session.event(oracle.failing_step(session)).line == 11
    statuses = _test_statuses(session)
    segments = {s.name: s.failed for s in localize.test_segments(session, oracle.failing_step(session), statuses)}
    assert (segments["line 10"], segments["line 11"], segments["line 12"], segments["line 13"]) == \
        (False, True, False, True)


def test_a_failing_statement_that_is_not_an_assert_stops_the_run(write, recorded):
    program = write("stops.py", "xs = []\nassert len(xs) == 1\nassert not xs\nitem = xs[0]\nassert xs == [1]\n"
                                "print('not reached')\n")
    _, session = _record_as_the_search_does(recorded, program)
    assert assert_outcomes(session) == {2: True, 3: False}
    assert "not reached" not in session.stdout
    assert session.outcome["exception"]["traceback"][-1]["line"] == 2  # the first failure, as under Python


def test_one_assert_runs_as_the_program_is(write):
    program = write("one.py", "def f():\n    return 1\n\nassert f() == 2\n")
    request = RunOracle(has_asserts=True).verify_request(RecordRequest(script=program, cwd=program.parent))
    assert request.module is None


def test_asserts_after_the_failing_one_lower_the_ochiai_score_of_lines_they_run(write, recorded):
    program = write("absolute.py", ABSOLUTE)
    oracle, session = _record_as_the_search_does(recorded, program)
    failing = oracle.failing_step(session)
    ranked = suspicious_lines(session, str(program), failing, _test_statuses(session))
    assert [s.line for s in ranked if s.line <= 4][0] == 3  # first of the function's lines
    reasons = {s.line: s.reason for s in ranked}
    assert "Ochiai 1.00" in reasons[3] and "Ochiai 0.58" in reasons[2]  # line 2 also ran in 2 passing asserts


def test_patch_sim_compares_the_asserts_that_passed_after_the_failing_one(write, recorded, tmp_path):
    program = write("absolute.py", ABSOLUTE)
    oracle, buggy = _record_as_the_search_does(recorded, program)
    statuses = _test_statuses(buggy)
    failing = _failing_test(buggy, oracle.failing_step(buggy))

    def departure(source: str) -> int:
        fixed = write(f"v{len(source)}/absolute.py", source)
        _, session = _record_as_the_search_does(recorded, fixed)
        assert oracle.verify(buggy, session).passed
        return behaviour_distance(buggy, session, buggy_relative=lambda p: Path(p).name,
                                  fixed_relative=lambda p: Path(p).name, program="absolute.py",
                                  mapping=line_map(source, ABSOLUTE), failing=failing, statuses=statuses,
                                  passing_only=True)

    assert departure(ABSOLUTE.replace("return x\n    return", "return -x\n    return")) == 0
    # passes every assert too, but takes another path in `absolute(0)`, which passed before
    assert departure(ABSOLUTE.replace("return x\n    return", "return -x\n    return")
                     .replace("x < 0", "x <= 0")) > 0


def test_the_verdict_counts_the_asserts_that_failed_and_passed_before(write):
    program = write("floor.py", "def floor_at_zero(x):\n    if x < 0:\n        return 1\n    return x\n\n\n"
                                "assert floor_at_zero(-5) == 0\nassert floor_at_zero(3) == 3\n"
                                "assert floor_at_zero(0) == 0\n")
    result = search(RepairRequest(RecordRequest(script=program, cwd=program.parent, stdin=None), jobs=2,
                                  max_fixes=1, time_budget_s=60))
    assert result.fixes, result
    best = result.fixes[0]
    assert "return 0" in best.patched_source
    assert best.verdict.reason == "all 3 top-level asserts now hold: the 1 that failed and the 2 that passed before"
