"""`duck run FILE --plain` end to end (real child processes) and the narrator on real recordings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from duck.narration import describe_outcome, execution_simulation, render_run
from duck.session import Session
from duck.trace.recorder import record_call
from duck.trace.runner import RecordRequest, record

REPO = Path(__file__).resolve().parents[2]


def duck_run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "duck", "run", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def write(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def test_average_example_explains_the_index_error():
    result = duck_run("--plain", "examples/average.py")
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert out.startswith("duck: average.py raised IndexError: list index out of range at line 15 in average")
    assert "because i == len(values) == 4, one past the last index (3)" in out
    assert "line 8: `kept.append(score)` -> kept goes from [] to [72]" in out
    assert "iteration 4 of 5 (score = 41)" in out
    assert "line 7: `if score > threshold:` -> the condition is false" in out
    assert "above returns [72, 95, 88, 63]" in out
    assert "### Output:\ngood scores: [72, 95, 88, 63]" in out
    assert "Traceback" not in out + result.stderr


def test_exit_status_is_the_programs(tmp_path):
    finished = write(tmp_path, "ok.py", """\
        def double(xs):
            return [2 * x for x in xs]

        print(double([1, 2]))
    """)
    result = duck_run("--plain", str(finished))
    assert result.returncode == 0, result.stderr
    assert "finished normally (exit status 0)" in result.stdout
    assert "double returns [2, 4]" in result.stdout
    assert "prints '[2, 4]'" in result.stdout

    exits = write(tmp_path, "exits.py", "import sys\nprint('bye')\nsys.exit(3)\n")
    result = duck_run("--plain", str(exits))
    assert result.returncode == 3
    assert "exited with status 3" in result.stdout and "at line 3 (`sys.exit(3)`)" in result.stdout


def test_limits_and_programs_that_cannot_start(tmp_path):
    spin = write(tmp_path, "spin.py", "n = 0\nwhile True:\n    n += 1\n")
    result = duck_run("--plain", "--max-steps", "500", str(spin))
    assert result.returncode == 3
    assert "was stopped by the step limit after 500 steps" in result.stdout
    assert "(raise it with --max-steps)" in result.stdout
    assert "... " in result.stdout and "more iterations" in result.stdout

    broken = write(tmp_path, "broken.py", "x = 1\ny = = 2\n")
    result = duck_run("--plain", str(broken))
    assert result.returncode == 2
    assert f"could not start: SyntaxError: invalid syntax at {broken}:2:5 (`y = = 2`)" in result.stdout + result.stderr
    assert "hint:" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr

    result = duck_run("--plain", str(tmp_path / "missing.py"))
    assert result.returncode == 2
    assert "missing.py" in result.stdout + result.stderr and "hint:" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_real_recording_of_a_key_error(tmp_path):
    script = write(tmp_path, "count.py", """\
        def count(words):
            counts = {}
            for word in words:
                counts[word] += 1
            return counts

        count(["duck", "duck"])
    """)
    trace = tmp_path / "run.trace"
    record(RecordRequest(script=script, stdin=None), trace)
    session = Session.load(trace)
    assert describe_outcome(session).endswith(
        "at line 4 in count (`counts[word] += 1`) because counts has no key word == 'duck' (it is empty)")
    text = render_run(session)
    assert "iteration 1 of 1 (word = 'duck')" in text
    assert "- calls count(words=['duck', 'duck'])" in text


def test_execution_simulation_of_a_traced_call():
    code = "def f(text):\n    out = ''\n    for ch in text:\n        if ch.isdigit():\n            out += ch\n    return out\n"
    recording = record_call(code, "f('a1b2')")
    assert recording.value == "'12'"
    text = execution_simulation(recording.events, recording.source, call="f('a1b2')", value=recording.value)
    assert "Let's simulate the execution of `f('a1b2')` step by step." in text
    assert "- calls f(text='a1b2')" in text
    assert "[L6]: `out = ''` -> out is set to ''" in text
    assert "iteration 2 of 4 (ch = '1')" in text
    assert "[L9]: `out += ch` -> out goes from '' to '1'" in text
    assert "[L9]: `out += ch` -> out goes from '1' to '12'" in text
    assert text.endswith("- f returns '12'\nThe function returns `'12'`.")


@pytest.mark.parametrize("bad", ["{", ""])
def test_execution_simulation_copes_with_nothing_recorded(bad):
    recording = record_call(bad, "f()")
    text = execution_simulation(recording.events, recording.source, call="f()", exception=recording.exception)
    assert text.startswith("### Execution Simulation:")
    assert "The call raises" in text


def test_a_reader_that_goes_away_gets_no_traceback():
    """`duck run x.py --plain | head -1`: the pipe closes before duck writes; duck stops quietly."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-m", "duck", "run", "--plain", "examples/average.py"], cwd=REPO,
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # duck records first, so this happens before its first write
    _, err = child.communicate(timeout=120)
    assert child.returncode == 141
    assert b"Traceback" not in err


def _python(version: str) -> str | None:
    """A working interpreter of ``version`` (the pyenv shim may exist without the version being selected)."""
    import glob
    import shutil

    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return candidate
    return None


def test_sys_monitoring_recordings_read_the_same(tmp_path):
    """On 3.12+ the recorder uses sys.monitoring (no exception events in callers): same story, same reason."""
    python = _python("3.12")
    if python is None:
        pytest.skip("no working python3.12 here")
    trace = tmp_path / "avg.trace"
    record(RecordRequest(script=REPO / "examples" / "average.py", stdin=None, python=python), trace)
    session = Session.load(trace)
    assert session.header.get("tracer") == "monitoring"
    text = render_run(session)
    assert "because i == len(values) == 4, one past the last index (3)" in text
    assert "average raises IndexError: list index out of range" in text
    assert "iteration 4 of 5 (score = 41)" in text


def test_generators_and_class_bodies_are_told_as_such(tmp_path):
    script = write(tmp_path, "gen.py", """\
        class Box:
            size = 2


        def squares(n):
            for k in range(n):
                yield k * k


        total = 0
        for v in squares(3):
            total += v
    """)
    trace = tmp_path / "gen.trace"
    record(RecordRequest(script=script, stdin=None), trace)
    text = render_run(Session.load(trace))
    assert "runs the body of class Box" in text and "size is set to 2" in text and "__qualname__" not in text
    assert "- calls squares(n=3)" in text and "squares yields 0" in text
    assert "- resumes squares" in text and "squares yields 4" in text and "squares is exhausted" in text
    assert "line 12: `total += v` -> total goes from 1 to 5" in text


def test_a_failed_expect_is_the_first_line_of_the_plain_run(tmp_path):
    program = write(tmp_path, "double.py", """\
        def double(n):
            return n + n + 1

        print(double(3))
        """)
    result = duck_run("--plain", str(program), "--expect", "6")
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == ("duck: double.py finished (exit status 0) after 7 steps but did not do what was expected: "
                     "the output differs from the expected one: line 1 is '7', expected '6'.")
    assert "finished normally" not in result.stdout
    assert result.stdout.rstrip().endswith("FAILED (expect): the output differs from the expected one: "
                                           "line 1 is '7', expected '6'")
    passed = duck_run("--plain", str(program), "--expect", "7")
    assert passed.returncode == 0 and passed.stdout.startswith("duck: double.py finished normally (exit status 0)")
