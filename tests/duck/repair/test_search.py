"""The repair search on real recordings: verified fixes, runaway and destructive candidates,
model proposals (a scripted backend stands in for SemCoder)."""

from __future__ import annotations

import os

from duck.repair import RepairRequest, search
from duck.repair.oracle import ExpectOracle
from duck.trace.runner import RecordRequest

LOOPS_WHEN_MUTATED = '''def countdown(n):
    steps = 0
    while n > 0:
        n -= 1
        steps += 1
    return steps

print(countdown(3) + 1)
'''


def test_a_candidate_that_loops_forever_is_cut_and_a_real_fix_is_still_found(write):
    # `n -= 1` -> `n += 1` (and others) loop forever; the step/time limits cut them cheaply
    prog = write("count.py", LOOPS_WHEN_MUTATED)
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=ExpectOracle("3\n"), jobs=2, max_fixes=1))
    assert not result.already_passing
    assert result.fixes, result
    best = result.fixes[0]
    assert best.verified and best.diff.startswith("--- a/count.py")
    assert result.duration_s < 120  # bounded by the limits, not by a 30 s default timeout per loop
    assert prog.read_text() == LOOPS_WHEN_MUTATED


def test_runaway_candidate_outcome_is_a_limit(write):
    from duck.repair.verify import CandidateRunner, Workspace, candidate_limits
    from duck.repair.oracle import RunOracle
    from duck.trace.runner import RecordRequest
    import tempfile
    from pathlib import Path

    from duck.trace.limits import Limits

    prog = write("loop.py", "print(1)\n")
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Workspace.create(prog, prog.parent, Path(scratch))
        with CandidateRunner(workspace, RecordRequest(script=prog, stdin=None), RunOracle(), jobs=1) as runner:
            baseline = runner.record(None)
            limits = candidate_limits(Limits(), baseline.session, pytest=False)
            assert limits.max_steps <= 20_000 * 20 and limits.timeout_s <= 30
            result = runner.verify("while True:\n    pass\n", limits)
    assert not result.verdict.passed
    assert result.session.outcome["outcome"] == "limit"


DESTRUCTIVE = '''import os, shutil
for name in os.listdir("."):
    if name != "wipe.py":
        if os.path.isdir(name):
            shutil.rmtree(name)
        else:
            os.remove(name)
open("wipe.py", "w").write("gone")
print(len(os.listdir(".")) + 1)
'''


def test_a_destructive_candidate_runs_in_a_copy_and_the_users_folder_is_intact(write, tmp_path):
    prog = write("wipe.py", DESTRUCTIVE)
    data = write("data/important.txt", "precious\n")
    notes = write("notes.txt", "keep me\n")
    before = {p: p.read_bytes() for p in (prog, data, notes)}
    # the baseline run itself deletes everything but itself: it must happen in the copy too
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=ExpectOracle("1\n"), jobs=2,
                                  max_candidates=40, max_fixes=1))
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(os.listdir(tmp_path)) == sorted(["data", "notes.txt", "wipe.py"])
    assert result.fixes and result.fixes[0].verified  # `+ 1` dropped, verified in a fresh copy


class ScriptedBackend:
    """Answers the refine prompt with prepared texts, one per round (a test stand-in for SemCoder)."""

    name = "scripted"

    def __init__(self, answers):
        self.answers = list(answers)
        self.prompts = []

    def stream(self, prompt, *, max_new_tokens=512, stop=(), temperature=0.0):
        self.prompts.append(prompt)
        yield self.answers.pop(0) if self.answers else ""

    def close(self):
        pass


BUGGY = '''def mean(xs):
    return sum(xs) / (len(xs) + 2)

print(mean([2, 4, 6]))
'''


def test_model_proposals_are_verified_and_failures_kept_only_as_unverified(write):
    prog = write("mean.py", BUGGY)
    wrong = "[MONOLOGUE]\nroot cause...\n[/MONOLOGUE]\n[Refined]\n```python\ndef mean(xs):\n    return sum(xs)\n\nprint(mean([2, 4, 6]))\n```\n[/Refined]"
    right = "[Refined]\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n\nprint(mean([2, 4, 6]))\n```\n[/Refined]"
    backend = ScriptedBackend([wrong, right])
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=ExpectOracle("4.0\n"), jobs=2,
                                  max_candidates=0, backend=backend, model_rounds=3))
    assert len(backend.prompts) == 2
    assert backend.prompts[0].startswith("Debug and Refine the Code")
    assert "### Buggy Solution" in backend.prompts[0] and "(len(xs) + 2)" in backend.prompts[0]
    assert "return sum(xs)\n" in backend.prompts[1]          # round 2 refines the model's own failure
    assert "expected output" in backend.prompts[1] and "12" in backend.prompts[1]
    assert [f.origin for f in result.fixes] == ["model"] and result.fixes[0].verified
    assert "return sum(xs) / len(xs)" in result.fixes[0].patched_source
    assert len(result.unverified) == 1 and not result.unverified[0].verified
    assert prog.read_text() == BUGGY


INPUTS_IN_DATA = '''def inc(x):
    return x + 2

start = 5
print(inc(start), inc(5))
'''


def test_the_programs_inputs_are_never_edited(write):
    # without the protection `start = 5` -> `4` and `inc(5)` -> `inc(4)` would "verify"
    prog = write("inc.py", INPUTS_IN_DATA)
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=ExpectOracle("6 6\n"), jobs=2))
    assert result.fixes
    for fix in result.fixes:
        assert fix.patched_source.splitlines()[2:] == INPUTS_IN_DATA.splitlines()[2:], fix.diff
    assert "return x + 1" in result.fixes[0].patched_source


AVERAGE = '''def above(scores, threshold):
    kept = []
    for score in scores:
        if score > threshold:
            kept.append(score)
    return kept


def average(values):
    total = 0
    for i in range(len(values) + 1):
        total += values[i]
    return total / len(values)


scores = [72, 95, 88, 41, 63]
good = above(scores, 60)
print("good scores:", good)
print("average:", average(good))
'''


def test_a_failure_inside_a_function_edits_only_function_bodies(write):
    from duck.repair.edits import candidate_edits

    lines = range(1, 21)
    data = {e.line for e in candidate_edits(AVERAGE, lines) if e.line >= 16}
    assert {16, 17} <= data                                  # what the protection removes
    kept = candidate_edits(AVERAGE, lines, protect_inputs=True)
    assert all("72" not in e.description and "60" not in e.description for e in kept)
    assert all(e.line < 16 for e in candidate_edits(AVERAGE, lines, protect_inputs=True, functions_only=True))
    prog = write("average.py", AVERAGE)
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=2))   # the exit oracle: IndexError
    assert result.fixes and result.recorded_runs <= result.verified_count + 3 < result.candidates_run
    for fix in result.fixes:
        assert fix.patched_source.splitlines()[15:] == AVERAGE.splitlines()[15:], fix.diff
    assert "range(len(values))" in result.fixes[0].patched_source


COUNT_POSITIVE = '''def count_positive(xs):
    n = 0
    for x in xs:
        if x >= 0:
            n += 1
    return n


if __name__ == "__main__":
    assert count_positive([0, 1, -2, 3]) == 2
'''
PERCENT = '''def percent(part, whole):
    return 100 * part / whole

def ratio_text(part, whole):
    return f"{percent(whole, part):.1f}%"


if __name__ == "__main__":
    print(ratio_text(1, 4))
'''


def test_weak_oracles_rank_the_behaviour_preserving_fix_first(write):
    # `>=` -> `<=` and `*` -> `/` also pass these oracles; they are wrong on other inputs
    prog = write("count.py", COUNT_POSITIVE)
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=2))
    found = {f.description.split(" (line")[0]: f for f in result.fixes}
    assert "`>=` -> `<=`" in found and len(found) > 1
    best = result.fixes[0]
    assert best.description.startswith(("`>=` -> `>`", "constant `0` -> `1`")), list(found)  # x > 0, x >= 1
    assert best.agreement > found["`>=` -> `<=`"].agreement
    prog = write("percent.py", PERCENT)
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=ExpectOracle("25.0%\n"), jobs=2))
    assert "percent(part, whole)" in result.fixes[0].patched_source, [f.description for f in result.fixes]
    assert result.fixes[0].name_gain == 2


def test_a_stop_request_or_an_empty_budget_ends_the_search(write):
    import threading

    prog = write("count.py", COUNT_POSITIVE)
    stop = threading.Event()
    said = []

    def progress(text):
        said.append(text)
        if text.startswith("the run failed"):
            stop.set()  # the user cancels as the search starts trying candidates

    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=2, should_stop=stop.is_set, progress=progress))
    assert result.stopped == "cancelled" and result.fixes == [] and result.candidates_run == 0
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), jobs=2, time_budget_s=0.0))
    assert result.stopped == "deadline" and result.candidates_run == 0
    assert not result.already_passing


def test_a_pytest_oracle_screens_candidates_without_recording_them(write, monkeypatch):
    from duck.repair.oracle import TestOracle

    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the runs need no plugin; they start faster
    prog = write("calc.py", "def double(x):\n    return x ** 2\n\ndef ident(x):\n    return x\n")
    write("test_calc.py", "from calc import double, ident\n\n"
                          "def test_double():\n    assert double(3) == 6\n\n"
                          "def test_ident():\n    assert ident(2) == 2\n")
    result = search(RepairRequest(RecordRequest(script=prog, cwd=prog.parent, stdin=None), oracle=TestOracle("test_calc.py::test_double"),
                                  jobs=2, max_fixes=1))
    assert result.fixes and "x * 2" in result.fixes[0].patched_source
    assert result.recorded_runs <= 2 < result.candidates_run
    assert "test_calc.py::test_double passed" in result.fixes[0].explanation
