"""Untraced screening runs: same inputs as a recording, killed at the deadline or on a stop,
and the differential probe that ranks verified fixes."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from duck.repair.oracle import ExpectOracle, RunOracle
from duck.repair.probe import agreement, derived_calls
from duck.repair.verify import CandidateRunner, Workspace
from duck.trace.runner import RecordRequest

SLEEPER = "import time\ntime.sleep(60)\nprint('woke')\n"


@pytest.fixture
def make_runner(write, tmp_path):
    runners = []

    def make(source: str, oracle=None, **fields) -> CandidateRunner:
        prog = write("src/prog.py", source)
        scratch = tmp_path / "scratch"
        scratch.mkdir(exist_ok=True)
        workspace = Workspace.create(prog, prog.parent, scratch)
        fields.setdefault("stdin", None)
        runners.append(CandidateRunner(workspace, RecordRequest(script=prog, cwd=prog.parent, **fields),
                                       oracle or RunOracle(), jobs=2))
        return runners[-1]

    yield make
    for runner in runners:
        runner.close()


READER = '''import random, sys
name = input()
print(name.upper(), sys.argv[1:], random.random(), hash("duck") % 1000)
raise ValueError("boom")
'''


def test_untraced_run_sees_the_recordings_argv_stdin_and_seed(make_runner):
    runner = make_runner(READER, argv=["--loud"], stdin="quack\n", seed=3)
    quick = runner.run_quick(None, 30)
    recorded = runner.record(None).session
    assert quick.outcome["outcome"] == recorded.outcome["outcome"] == "exception"
    assert quick.outcome["exception"]["type"] == "ValueError"
    assert quick.stdout == recorded.stdout and quick.stdout.startswith("QUACK ['--loud'] ")
    assert "ValueError: boom" in quick.stderr
    assert not RunOracle().screen(quick, quick).passed


def test_the_deadline_stops_an_untraced_candidate(make_runner):
    runner = make_runner("print(1)\n")
    runner.deadline = time.monotonic() + 0.5
    started = time.monotonic()
    quick = runner.run_quick(SLEEPER, timeout_s=60)
    assert quick.outcome["outcome"] == "limit" and "woke" not in quick.stdout
    assert time.monotonic() - started < 30  # far below the candidate's own 60 s
    assert runner.run_quick("print(2)\n", 60).outcome["limit"] == "stopped"  # nothing starts after it


def test_a_stop_request_kills_the_candidates_that_run(make_runner):
    runner = make_runner("print(1)\n", oracle=ExpectOracle("woke\n"))
    runner.baseline = runner.record(None).session
    runner.quick_baseline = runner.run_quick(None, 30)
    runner.quick_timeout_s = 60
    started = time.monotonic()
    results = list(runner.verify_many([SLEEPER, SLEEPER + "#2\n", SLEEPER + "#3\n"],
                                      lambda s: runner.verify(s, runner.request.limits),
                                      should_stop=lambda: runner.running() == 2))  # both slots busy
    assert time.monotonic() - started < 30
    assert len(results) == 2 and runner.running() == 0     # the third never started
    for _, result in results:
        assert not result.verdict.passed and result.session is None
        assert result.quick.outcome["limit"] == "stopped"


ARGMIN = '''def argmin(xs):
    best = 0
    for i in range(2, len(xs)):
        if xs[i] < xs[best]:
            best = i
    return best

print(argmin([4, 1, 3]))
'''


def test_probe_prefers_the_fix_that_keeps_the_buggy_programs_other_answers(make_runner):
    runner = make_runner(ARGMIN)
    baseline = runner.record(None)
    program = str(baseline.copy_root / "prog.py")
    right = ARGMIN.replace("range(2,", "range(1,")
    wrong = ARGMIN.replace("best = 0", "best = 1")
    calls = derived_calls(baseline.session, program, ARGMIN, ["argmin"])
    assert ("argmin", {"xs": "[1, 3]"}) in calls and ("argmin", {"xs": "[4, 1, 3]"}) not in calls
    scores = agreement(runner, baseline.session, program, ARGMIN, [right, wrong])
    assert scores is not None and scores[0] > scores[1]


def test_a_candidate_cut_at_the_short_timeout_is_recorded_and_the_step_cap_decides(make_runner):
    from duck.repair.verify import candidate_limits
    from duck.trace.limits import Limits

    runner = make_runner("print(1)\n", oracle=ExpectOracle("2\n"))
    runner.baseline = runner.record(None).session
    runner.quick_baseline = runner.run_quick(None, 30)
    runner.quick_timeout_s = 0.3
    limits = candidate_limits(Limits(), runner.baseline, pytest=False)
    looping = runner.verify("while True:\n    pass\n", limits)
    assert looping.quick.outcome["limit"] == "timeout" and looping.session is not None
    assert looping.session.outcome["limit"] == "max_steps" and not looping.verdict.passed
    # slower than the screening allows (a busy machine): still verified, by its recording
    slow = runner.verify("import time\ntime.sleep(0.5)\nprint(2)\n", limits)
    assert slow.quick.outcome["limit"] == "timeout" and slow.verdict.passed


def test_output_before_os_exit_is_kept(make_runner):
    runner = make_runner("import os\nprint('bye')\nos._exit(0)\n")
    quick = runner.run_quick(None, 30)
    assert quick.stdout == "bye\n" and quick.outcome["outcome"] == "finished"


LIKE_PYTHON = '''import atexit, os, sys, threading, time
print(__name__, os.path.basename(sys.path[0]), sorted(k for k in os.environ if not k.startswith("LC_")))
print(sys.stdout.encoding, sys.stdin.encoding, sys.getrecursionlimit() >= 1000)
def deep(n):
    return 0 if n == 0 else 1 + deep(n - 1)
print(deep(960))
atexit.register(lambda: print("atexit ran"))
def late():
    time.sleep(0.2)
    print("thread joined")
threading.Thread(target=late).start()
sys.exit(3)
'''


def test_an_untraced_run_sees_what_a_fresh_interpreter_gives_a_program(make_runner):
    # untraced runs are forked from a sandbox server: nothing of the server may show
    runner = make_runner(LIKE_PYTHON)
    quick = runner.run_quick(None, 30)
    recorded = runner.record(None, fork=False).session  # the recorder's child: a fresh interpreter
    lines = quick.stdout.splitlines()
    assert lines[0].startswith("__main__ root [") and "'HOME'" in lines[0] and "'PYTHONHASHSEED'" in lines[0]
    assert lines[1] == "utf-8 utf-8 True"
    assert lines[2] == "960"                        # as deep as python allows
    assert lines[3:] == ["thread joined", "atexit ran"]
    assert quick.stdout == recorded.stdout
    assert quick.outcome["outcome"] == recorded.outcome["outcome"] == "exited"
    assert quick.outcome["exit_code"] == recorded.outcome["exit_code"] == 3
    assert quick.outcome["message"] == recorded.outcome["message"] == "the program ended with sys.exit(3)"


FORK_PROGRAMS = {
    "exception": '''import sys
def mean(xs):
    total = 0
    for x in xs:
        total += x
    return total / len(xs)
print(mean([1, 2, 3]), {"a", "b", "c", "duck"})
print(mean([]))
''',
    "input": '''import random, sys
names = [input(), input()]
print(sorted(names), random.random(), hash("duck") % 1000, sys.argv[1:])
sys.exit(2)
''',
    "recursion": '''import sys
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
print(depth(900), sys.getrecursionlimit())
def forever(n):
    return forever(n + 1)
forever(0)
''',
    "exit": '''import atexit, os
atexit.register(lambda: print("atexit"))
values = {i: i * i for i in range(5)}
print(values)
os._exit(4)
''',
}


@pytest.mark.parametrize("name", sorted(FORK_PROGRAMS))
def test_a_forked_recording_is_the_fresh_interpreters_recording(make_runner, name):
    # the recorder's child forked from a sandbox server (what duck fix does) against the
    # child exec'd as a fresh interpreter: the same steps, values, output and end
    runner = make_runner(FORK_PROGRAMS[name], argv=["-v"], stdin="b\na\n", seed=5)
    fresh, forked = runner.record(None, fork=False), runner.record(None, fork=True)

    def events(result):
        root = str(result.copy_root)
        return [dataclasses.replace(e, file=e.file.replace(root, "ROOT"), stderr=e.stderr.replace(root, "ROOT"))
                for e in result.session.events()]

    def outcome(result):
        kept = {k: result.session.outcome.get(k) for k in ("outcome", "exit_code", "steps", "message", "limit")}
        exception = result.session.outcome.get("exception") or {}
        kept["exception"] = (exception.get("type"), exception.get("message"),
                             [(str(f.get("file")).replace(str(result.copy_root), "ROOT"), f.get("line"), f.get("text"))
                              for f in exception.get("traceback") or ()])
        return kept

    assert len(fresh.session) > 5
    assert events(forked) == events(fresh)
    assert outcome(forked) == outcome(fresh)
    assert forked.session.stdout == fresh.session.stdout


def test_a_forked_recording_that_cannot_start_is_duck_s_error_not_the_program_s(make_runner, tmp_path):
    # the job function failed before the recorder wrote anything (here: its stdin file is
    # missing): reported as a sandbox failure, like an exec that failed, not as the program's end
    from duck.trace.runner import _CHILD, _start_confined, write_config

    runner = make_runner("print(1)\n")
    trace = tmp_path / "run.trace"
    trace.write_bytes(b"")
    config = tmp_path / "config"
    write_config(config, {"trace": str(trace), "module": None, "script": str(tmp_path / "prog.py")})
    run = _start_confined(runner.sandbox, True, ["python", _CHILD, str(config)], cwd=tmp_path, env={},
                          timeout_s=10, stdin=tmp_path / "missing.txt", stdout=None, stderr=None,
                          writable=[tmp_path], readable=[], grace_s=0)
    assert run.exit_code == 127 and "No such file" in run.error


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_the_copy_leaves_out_virtual_environments_whatever_their_name(tmp_path):
    """A folder holding ``pyvenv.cfg`` is an environment (PEP 405), not the program's files: a project
    with ``myenv/`` inside, or a program kept in an environment's own folder, is copied without it
    (thousands of files, copied again for every candidate)."""
    project = tmp_path / "project"
    (project / "myenv" / "lib" / "python3" / "site-packages").mkdir(parents=True)
    (project / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "myenv" / "lib" / "python3" / "site-packages" / "pkg.py").write_text("x = 1\n")
    (project / "lib").mkdir()
    (project / "lib" / "helpers.py").write_text("y = 2\n")  # a project's own lib/ is kept
    (project / "prog.py").write_text("print(1)\n")
    (project / "data.txt").write_text("kept\n")
    made = Workspace.create(project / "prog.py", project, tmp_path / "s1")
    assert _files(made.pristine) == {"prog.py", "data.txt", "lib/helpers.py"}

    env = tmp_path / "env-root"
    (env / "lib" / "python3" / "site-packages").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python").write_text("")
    (env / "lib" / "python3" / "site-packages" / "pkg.py").write_text("x = 1\n")
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (env / "prog.py").write_text("print(1)\n")
    made = Workspace.create(env / "prog.py", env, tmp_path / "s2")
    assert _files(made.pristine) == {"prog.py", "pyvenv.cfg"}
