"""Issue 15: the richer edit space, spectrum-based localisation, degenerate fixes, a deterministic
ranking that says why the first fix is first, and a report that counts right."""

from __future__ import annotations

from duck.repair import RepairRequest, search
from duck.repair.edits import apply_edits, candidate_edits
from duck.repair.oracle import ExpectOracle, RunOracle, TestOracle
from duck.trace.runner import RecordRequest


def _descriptions(source: str, lines=None) -> set[str]:
    lines = lines or range(1, source.count("\n") + 2)
    return {e.description for e in candidate_edits(source, lines)}


def _fixed_by(source: str, wanted: str) -> bool:
    lines = range(1, source.count("\n") + 2)
    return any(apply_edits(source, [e]) == wanted for e in candidate_edits(source, lines))


def test_the_edit_space_holds_the_single_hunk_bug_kinds_of_the_issue():
    # augmented operator written as a plain assignment, and the reverse
    assert _fixed_by("def f(xs):\n    t = 0\n    for x in xs:\n        t = x\n    return t\n",
                     "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n")
    assert _fixed_by("def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n",
                     "def f(xs):\n    t = 0\n    for x in xs:\n        t = x\n    return t\n")
    # a wrong return value: another value in scope, the element instead of the list
    assert _fixed_by("def f(xs):\n    best = max(xs)\n    return len(xs)\n", "def f(xs):\n    best = max(xs)\n    return best\n")
    assert _fixed_by("def f(xs):\n    ret = sorted(xs)\n    return ret\n", "def f(xs):\n    ret = sorted(xs)\n    return ret[0]\n")
    # a recursive call with a missing adjustment of its argument
    assert _fixed_by("def f(n):\n    if n == 0:\n        return 0\n    return n + f(n)\n",
                     "def f(n):\n    if n == 0:\n        return 0\n    return n + f(n - 1)\n")
    # a missing clamp
    assert _fixed_by("def f(a, b):\n    return a - b\n", "def f(a, b):\n    return max(a - b, 0)\n")
    # iterating the wrong slice, a wrong loop bound
    assert _fixed_by("def f(xs):\n    return xs[1:]\n", "def f(xs):\n    return xs[:]\n")
    assert _fixed_by("def f(n):\n    return [i for i in range(1, n)]\n", "def f(n):\n    return [i for i in range(n)]\n")
    # yield vs yield from
    assert _fixed_by("def f(xs):\n    yield xs\n", "def f(xs):\n    yield from xs\n")
    # a condition weakened (one operand dropped), a chain of `or` turned into `and` at once
    assert _fixed_by("def f(a, b):\n    return a > 0 and b > 0\n", "def f(a, b):\n    return a > 0\n")
    assert _fixed_by("def f(a, b, c):\n    return a and b and c\n", "def f(a, b, c):\n    return a or b or c\n")


def test_wrong_variables_seen_by_the_recording_come_first():
    source = "def f(aa, bb, zz):\n    return aa\n"
    edits = [e for e in candidate_edits(source, [2], {2: {"zz"}}) if e.kind == "variable"]
    assert edits[0].text == "zz"


def test_ochiai_over_the_passing_asserts_ranks_the_line_only_the_failing_one_ran(write, recorded):
    from duck.repair.localize import ochiai, suspicious_lines, test_segments

    prog = write("sign.py", "def sign(x):\n    if x > 0:\n        return 1\n    if x < 0:\n        return 1\n"
                            "    return 0\n\nassert sign(5) == 1\nassert sign(0) == 0\nassert sign(-2) == -1\n")
    session = recorded(prog)
    failing = RunOracle(has_asserts=True).failing_step(session)
    segments = test_segments(session, failing)
    outcome = {s.name: s.failed for s in segments}
    assert (outcome["line 8"], outcome["line 9"], outcome["line 10"]) == (False, False, True)
    scores = ochiai(session, str(prog), segments)
    assert scores[5] == 1.0 and scores[2] < 1.0  # `return 1` under `x < 0` ran only for sign(-2)
    ranked = [s.line for s in suspicious_lines(session, str(prog), failing)]
    assert ranked.index(5) < ranked.index(2)


def test_a_degenerate_fix_is_ranked_after_a_real_one_and_the_report_says_why(write):
    prog = write("first.py", "def first_big(xs, limit):\n    i = 0\n    while True:\n        if xs[i] >= limit:\n"
                             "            return xs[i]\n        i += 2\n    return None\n\n"
                             "assert first_big([1, 5, 9], 4) == 5\n")
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=2, max_fixes=10))
    assert result.fixes, result
    descriptions = [f.description for f in result.fixes]
    assert any("`+=` -> `-=`" not in d and "`2` -> `1`" in d for d in descriptions), descriptions
    best = result.fixes[0]
    assert best.degenerate is None and "`2` -> `1`" in best.description, descriptions
    for fix in result.fixes:
        if "while" in fix.diff and "False" in fix.patched_source.split("while")[1].split(":")[0]:
            assert fix.degenerate and "always False" in fix.degenerate
    assert result.why_first


def test_the_ranked_list_does_not_depend_on_timing(write):
    source = "def count_pos(xs):\n    n = 0\n    for x in xs:\n        if x >= 0:\n            n += 1\n    return n\n\n" \
             "assert count_pos([3, -1, 0, 2]) == 2\n"
    prog = write("count.py", source)
    lists = []
    for jobs in (1, 2):
        result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=jobs, max_fixes=3))
        lists.append([f.description for f in result.fixes])
    assert lists[0] and lists[0] == lists[1]
    one = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=2, max_fixes=1))
    assert [f.description for f in one.fixes] == lists[0][:1]


def test_the_test_oracle_counts_the_other_tests_that_still_pass():
    from types import SimpleNamespace

    def run(a, b, c):  # what pytest -rA prints, and how the run ended
        summary = "\n".join(f"{status} test_calc.py::test_{name}" for name, status in zip("abc", (a, b, c)))
        return SimpleNamespace(stdout=f"=== short test summary info ===\n{summary}\n", outcome={"outcome": "exited"})

    oracle = TestOracle("test_calc.py::test_a")
    verdict = oracle.verify(run("FAILED", "PASSED", "FAILED"), run("PASSED", "PASSED", "FAILED"))
    assert verdict.passed
    assert "the 1 other test(s) of test_calc.py that passed before still pass" in verdict.reason
    verdict = oracle.verify(run("FAILED", "FAILED", "FAILED"), run("PASSED", "FAILED", "FAILED"))
    assert verdict.passed and "no other test" in verdict.reason
    assert not oracle.verify(run("FAILED", "PASSED", "FAILED"), run("PASSED", "FAILED", "FAILED")).passed


def test_the_no_fix_hint_names_the_oracle_that_was_given():
    from duck.commands.fix import _no_fix_hint

    assert "--expect or --test" not in _no_fix_hint("expect")
    assert "--expect or --test" not in _no_fix_hint("test")
    assert "--expect or --test" in _no_fix_hint("exit")


def test_a_function_that_ignores_its_input_is_flagged():
    from duck.repair.probe import _constant_function

    calls = [("f", {"x": "1"}), ("f", {"x": "2"}), ("f", {"x": "3"})]
    assert _constant_function(calls, ["= 1", "= 2", "= 3"], ["= 0", "= 0", "= 0"]) == "f"
    assert _constant_function(calls, ["= 1", "= 2", "= 3"], ["= 2", "= 3", "= 4"]) is None
    assert _constant_function(calls, ["= 0", "= 0", "= 0"], ["= 0", "= 0", "= 0"]) is None


def test_a_fix_line_in_the_list_tells_fixes_apart(write):
    prog = write("avg.py", "def average(xs):\n    return sum(xs) // len(xs)\n\nprint(average([1, 2, 3, 4]))\n")
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=ExpectOracle("2.5\n"), jobs=2))
    assert result.fixes
    best = result.fixes[0]
    assert best.where() == "avg.py:2"
    assert "nearby answers" in best.evidence() or "expected" in best.evidence()


def test_the_bug_in_a_module_the_driver_imports_is_fixed_there(write):
    stats = write("stats.py", "def total(xs):\n    t = 0\n    for x in xs:\n        t = x\n    return t\n\n\n"
                              "def mean(xs):\n    return total(xs) / len(xs)\n")
    driver = write("driver.py", "from stats import mean\n\nprint(mean([2, 4, 6]))\n")
    before = driver.read_text(), stats.read_text()
    result = search(RepairRequest(RecordRequest(script=driver, cwd=driver.parent, stdin=None), oracle=ExpectOracle("4.0\n"), jobs=2))
    assert result.fixes, result
    best = result.fixes[0]
    assert best.file == stats.resolve() and best.where() == "stats.py:4"
    assert "t += x" in best.patched_source and best.original_source == before[1]
    assert best.diff.startswith("--- a/stats.py")
    assert (driver.read_text(), stats.read_text()) == before  # nothing written without --apply


def test_each_line_of_the_fixes_list_tells_its_fix_apart():
    from pathlib import Path

    from duck.repair.oracle import Verdict
    from duck.repair.search import Fix
    from duck.widgets.fixes import fix_label

    def fix(line, description, agreement):
        return Fix(file=Path("/tmp/average.py"), original_source="", patched_source="", diff="",
                   explanation="The runs agree for 12 steps; ...", verified=True, origin="edit",
                   description=f"{description} (line {line})", verdict=Verdict(True, "the output is the expected one"),
                   agreement=agreement, probe_calls=10, line=line)

    labels = [fix_label(fix(2, "`//` -> `/`", 9)).plain, fix_label(fix(2, "`len(xs)` -> `len(xs) - 1`", 3)).plain,
              fix_label(fix(5, "`//` -> `/`", 9)).plain]
    assert len(set(labels)) == 3
    assert labels[0].startswith("✓ average.py:2  `//` -> `/`") and "keeps 9/10 nearby answers" in labels[0]
    assert not any("The runs agree" in label for label in labels)


def test_a_plain_assignment_becomes_an_accumulation_only_inside_a_loop():
    source = "def f(xs):\n    n = 0\n    for x in xs:\n        if x:\n            n = 1\n    return n\n"
    fixed = {apply_edits(source, [e]) for e in candidate_edits(source, range(1, 7)) if e.kind == "augmented"}
    assert source.replace("n = 1", "n += 1") in fixed
    assert source.replace("n = 0", "n += 0") not in fixed  # an initialisation, outside the loop


def test_a_condition_made_constant_is_degenerate_by_its_shape():
    from duck.repair.diverge import line_map
    from duck.repair.rank import degenerate_reason

    loop = "def f(xs):\n    i = 0\n    while True:\n        if xs[i] > 3:\n            return i\n        i += 2\n"
    for before, after, value in ((loop, loop.replace("while True", "while False"), "False"),
                                 (loop, loop.replace("if xs[i] > 3", "if not True"), "False")):
        reason = degenerate_reason(before, after, None, None, buggy_file="", fixed_file="",
                                   mapping=line_map(after, before))
        assert reason and f"now always {value}" in reason
    fine = loop.replace("i += 2", "i += 1")
    assert degenerate_reason(loop, fine, None, None, buggy_file="", fixed_file="", mapping=line_map(fine, loop)) is None


def test_a_loop_whose_body_no_longer_runs_is_degenerate(write, recorded):
    from duck.repair.diverge import line_map
    from duck.repair.rank import degenerate_reason

    buggy = "def total(xs):\n    t = 0\n    for x in xs[1:]:\n        t += x\n    return t\n\nprint(total([1, 2, 3]))\n"
    dead = buggy.replace("xs[1:]", "xs[3:]")
    right = buggy.replace("xs[1:]", "xs")
    sessions = {}
    for name, text in (("buggy", buggy), ("dead", dead), ("right", right)):
        sessions[name] = (recorded(write(f"{name}/prog.py", text)), str(write(f"{name}/prog.py", text)))
    b_session, b_file = sessions["buggy"]
    for name, text, suspect in (("dead", dead, True), ("right", right, False)):
        f_session, f_file = sessions[name]
        reason = degenerate_reason(buggy, text, b_session, f_session, buggy_file=b_file, fixed_file=f_file,
                                   mapping=line_map(text, buggy))
        assert bool(reason) == suspect, (name, reason)
    assert "loop at line 3 no longer runs its body" in degenerate_reason(
        buggy, dead, b_session, sessions["dead"][0], buggy_file=b_file, fixed_file=sessions["dead"][1],
        mapping=line_map(dead, buggy))
