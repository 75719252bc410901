"""Each kind of bad input (a missing or binary file, a syntax error, an endless loop, a memory bomb,
100 MB of output, a fork, bad reprs, Ctrl-C) ends within its limit, says what happened, and keeps
the partial trace."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from duck.trace.limits import Limits

from .conftest import PROGRAMS


def _events_are_contiguous(trace) -> bool:
    return [e["step"] for e in trace.events] == list(range(len(trace.events)))


def test_missing_file_fails_to_start_with_a_hint(run_program, tmp_path):
    outcome, trace = run_program(tmp_path / "nope.py")
    assert outcome["outcome"] == "failed_to_start"
    assert "no such file" in outcome["message"] and outcome["hint"]
    assert trace.header["format"] == "duck-trace" and trace.events == []


def test_directory_fails_to_start(run_program, tmp_path):
    outcome, _ = run_program(tmp_path)
    assert outcome["outcome"] == "failed_to_start"
    assert "is a directory" in outcome["message"]


@pytest.mark.parametrize("sample, words", [("binary.py.bin", "binary file"), ("latin1.py.bin", "not valid UTF-8")])
def test_binary_and_non_utf8_files_fail_to_start(run_program, tmp_path, sample, words):
    script = tmp_path / "prog.py"
    shutil.copy(PROGRAMS / sample, script)
    outcome, trace = run_program(script)
    assert outcome["outcome"] == "failed_to_start"
    assert words in outcome["message"]


def test_syntax_error_reports_file_line_and_column(run_program, tmp_path):
    script = tmp_path / "broken.py"
    shutil.copy(PROGRAMS / "syntax_error.py.txt", script)
    outcome, trace = run_program(script)
    assert outcome["outcome"] == "failed_to_start"
    where = outcome["exception"]["traceback"][-1]
    assert outcome["exception"]["type"] == "SyntaxError"
    assert (where["file"], where["line"], where["column"]) == (str(script), 1, 7)
    assert where["text"] == "def f(:"


def test_infinite_loop_stops_at_the_timeout_and_keeps_what_was_recorded(run_program):
    outcome, trace = run_program("sleeper.py", limits=Limits(timeout_s=2.0, max_steps=10**9))
    assert outcome["outcome"] == "limit" and outcome["limit"] == "timeout"
    assert len(trace.events) > 3 and _events_are_contiguous(trace)
    assert trace.sources  # the parent wrote the sources after killing the child


def test_infinite_loop_stops_at_max_steps(run_program):
    outcome, trace = run_program("infinite.py", limits=Limits(max_steps=500))
    assert outcome["outcome"] == "limit" and outcome["limit"] == "max_steps"
    assert len(trace.events) == 500 and outcome["steps"] == 500


def test_runaway_recursion_is_the_programs_recursion_error(run_program):
    outcome, trace = run_program("recursion.py")
    assert outcome["outcome"] == "exception"
    assert outcome["exception"]["type"] == "RecursionError"
    assert max(e["depth"] for e in trace.events) > 100
    assert _events_are_contiguous(trace)


def _c_core_records() -> bool:
    if os.environ.get("DUCK_PURE_PYTHON", "") not in ("", "0"):
        return False
    try:
        from duck.trace import _speedups  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _c_core_records(), reason="the C core is not built for this Python (or DUCK_PURE_PYTHON=1)")
@pytest.mark.xfail(sys.version_info >= (3, 12), strict=True,
                   reason="the headroom at the recursion limit is in the 3.11 C trace function; the 3.12+ "
                          "sys.monitoring C callbacks do not have it yet (a known gap of issue 12)")
def test_the_innermost_frames_at_the_recursion_limit_are_recorded_raising_not_returning_none(run_program):
    """At the limit the recorder's own Python-level work (the exception hook, a repr) had no frames
    left: the innermost frames lost their exception events and their unwinding read as ``return None``."""
    outcome, trace = run_program("recursion.py")
    assert outcome["exception"]["type"] == "RecursionError"
    frames: dict[int, list[dict]] = {}
    for event in trace.events:
        frames.setdefault(event["frame"], []).append(event)
    downs = [events for events in frames.values() if events[0]["func"] == "down"]
    assert len(downs) > 900
    for events in downs:
        assert events[-1]["event"] == "return" and "value" not in events[-1], events[-4:]
        assert events[-2]["event"] == "exception" and events[-2]["exc_type"] == "RecursionError", events[-4:]
    deepest = max(downs, key=lambda events: events[0]["depth"])
    assert [e["event"] for e in deepest] == ["call", "line", "exception", "return"]
    assert not any(e["event"] == "return" and e.get("value") == "None" for e in trace.events if e["func"] == "down")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="sys.settrace is the pure path's hook on 3.11 only")
def test_the_pure_recorder_at_the_recursion_limit_says_python_switched_its_hook_off(run_program, monkeypatch):
    """A Python trace function with no frame left to run in fails, and Python switches it off: the
    recording says so, and does not blame a sys.settrace() call the program never made."""
    monkeypatch.setenv("DUCK_PURE_PYTHON", "1")
    outcome, trace = run_program("recursion.py")
    assert outcome["exception"]["type"] == "RecursionError"
    assert outcome["recording_stopped"] == {"step": None, "by": None}
    assert "Python switched duck's trace hook off" in outcome["message"] and "recursion limit" in outcome["message"]
    assert "sys.settrace" not in outcome["message"]
    assert not any(e["event"] == "return" and e.get("value") == "None" for e in trace.events if e["func"] == "down")


def test_memory_bomb_stops_at_the_memory_limit(run_program):
    outcome, trace = run_program("membomb.py", limits=Limits(max_memory_mb=400, timeout_s=60))
    assert outcome["outcome"] == "limit" and outcome["limit"] == "memory"
    assert "memory" in outcome["message"]
    assert trace.events


def test_sys_exit_3_is_exited_with_status_3(run_program):
    outcome, trace = run_program("exit3.py")
    assert outcome["outcome"] == "exited" and outcome["exit_code"] == 3
    assert outcome["message"] == "the program ended with sys.exit(3)"
    assert any(e.get("stdout") == "leaving\n" for e in trace.events)


def test_os_exit_0_finishes_and_keeps_the_trace(run_program):
    outcome, trace = run_program("osexit.py")
    assert outcome["outcome"] == "finished" and outcome["exit_code"] == 0
    assert any(e.get("changes", {}).get("x") == "1" for e in trace.events)
    assert any(e.get("stdout") == "bye\n" for e in trace.events)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_does_not_write_into_the_trace(run_program):
    outcome, trace = run_program("forker.py")
    assert outcome["outcome"] == "finished"
    assert _events_are_contiguous(trace)
    calls = [e for e in trace.events if e["event"] == "call" and e["func"] == "work"]
    assert [c["changes"]["tag"] for c in calls] == ["'parent'"]


def test_threads_run_but_only_the_main_thread_is_recorded(run_program):
    outcome, trace = run_program("threads.py")
    assert outcome["outcome"] == "finished"
    assert "".join(e.get("stdout", "") for e in trace.events) == "300\n"
    assert not any(e["func"] == "worker" for e in trace.events)


def test_reading_stdin_when_none_is_given_is_an_eof_error(run_program):
    outcome, trace = run_program("reads_stdin.py", stdin=None)
    assert outcome["outcome"] == "exception" and outcome["exception"]["type"] == "EOFError"
    assert any(e["event"] == "exception" and e["exc_type"] == "EOFError" for e in trace.events)


def test_printing_100_mb_stops_at_the_output_limit(run_program):
    outcome, trace = run_program("bigprint.py", limits=Limits(max_output_bytes=3_000_000))
    assert outcome["outcome"] == "limit" and outcome["limit"] == "output"
    printed = sum(len(e.get("stdout", "")) for e in trace.events)
    assert 2_000_000 < printed <= 3_000_000


def test_bad_reprs_are_never_called_by_default(run_program):
    outcome, trace = run_program("reprs.py")
    assert outcome["outcome"] == "finished"
    seen = {}
    for e in trace.events:
        seen.update(e.get("changes", {}))
    assert (seen["a"], seen["b"], seen["c"]) == ("Raises()", "Hangs()", "Huge()")
    assert seen["loop"] == "[1, 2, [...]]"


def test_bad_reprs_and_a_self_referencing_list_with_user_repr(run_program):
    outcome, trace = run_program("reprs.py", limits=Limits(timeout_s=60, user_repr=True))
    assert outcome["outcome"] == "finished"
    seen = {}
    for e in trace.events:
        seen.update(e.get("changes", {}))
    assert seen["a"] == "<repr raised ValueError: no repr for you>"
    assert seen["b"] == "<repr timed out>"
    assert seen["c"].startswith("hhhh") and len(seen["c"]) < 300
    assert seen["loop"] == "[1, 2, [...]]"


def test_ctrl_c_stops_the_program_and_keeps_the_partial_trace(tmp_path):
    trace_path = tmp_path / "run.trace"
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from duck.trace.limits import Limits\n"
        "from duck.trace.runner import RecordRequest, record\n"
        f"r = record(RecordRequest(script=Path({str(PROGRAMS / 'infinite.py')!r}), echo=True,"
        " limits=Limits(timeout_s=120, max_steps=10**9)), Path(sys.argv[1]))\n"
        "print(json.dumps(r.outcome), flush=True)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    proc = subprocess.Popen([sys.executable, "-c", code, str(trace_path)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "ready\n"  # the program is running under the recorder
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["outcome"] == "limit" and outcome["limit"] == "interrupted"
    from duck.trace.format import read_trace

    trace = read_trace(trace_path)
    assert trace.outcome["limit"] == "interrupted" and trace.events
