"""The repair search on real recordings: verified fixes, runaway and destructive candidates,
model proposals (a scripted backend stands in for SemCoder)."""

from __future__ import annotations

import os

from duck.repair import RepairRequest, search
from duck.repair.oracle import ExpectOracle

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
    result = search(RepairRequest(script=prog, cwd=prog.parent, oracle=ExpectOracle("3\n"), jobs=2, max_fixes=1))
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
        runner = CandidateRunner(workspace, RecordRequest(script=prog, stdin=None), RunOracle(), jobs=1)
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
    result = search(RepairRequest(script=prog, cwd=prog.parent, oracle=ExpectOracle("1\n"), jobs=2,
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
    result = search(RepairRequest(script=prog, cwd=prog.parent, oracle=ExpectOracle("4.0\n"), jobs=2,
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
