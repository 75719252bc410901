"""`duck replay TRACE`: a recorded run opens again without running anything; `duck run` on a
trace says so instead of running it as Python; ``duck record --format`` and ``duck convert``:
both trace formats, one narration."""

from __future__ import annotations

from pathlib import Path

import pytest

from duck.cli import main, parse_command_line
from duck.trace.binary import is_v2
from duck.trace.format import read_trace

PROGRAMS = Path(__file__).resolve().parent / "trace" / "programs"

# every run of this program leaves a mark, so a re-run would show
PROGRAM = """\
import pathlib, sys
runs = pathlib.Path(sys.argv[1])
runs.write_text(runs.read_text() + "ran\\n" if runs.exists() else "ran\\n")
values = [4, 8]
print("mean:", sum(values) / len(values))
"""


@pytest.fixture
def recorded(tmp_path):
    program, marks, trace = tmp_path / "prog.py", tmp_path / "runs.txt", tmp_path / "prog.trace"
    program.write_text(PROGRAM)
    assert main(["record", str(program), "-o", str(trace), "--quiet", "--", str(marks)]) == 0
    assert marks.read_text() == "ran\n"
    return program, marks, trace


def test_replay_plain_prints_the_recorded_run_without_running_it(recorded, capsys):
    program, marks, trace = recorded
    capsys.readouterr()
    assert main(["replay", str(trace), "--plain"]) == 0
    replayed = capsys.readouterr().out
    assert "mean: 6.0" in replayed and "values" in replayed
    assert marks.read_text() == "ran\n"  # nothing ran again
    assert main(["run", "--plain", str(program), "--", str(marks)]) == 0
    assert capsys.readouterr().out.replace("runs.txt", "") == replayed.replace("runs.txt", "")


def test_replay_reports_the_recorded_programs_exit_status(tmp_path):
    program, trace = tmp_path / "crash.py", tmp_path / "crash.trace"
    program.write_text("raise SystemExit(3)\n")
    assert main(["record", str(program), "-o", str(trace), "--quiet"]) == 3
    assert main(["replay", str(trace), "--plain"]) == 3


@pytest.mark.parametrize("command", ["run", "record", "fix"])
def test_a_trace_given_as_the_program_points_to_replay(recorded, command, capsys):
    _, marks, trace = recorded
    capsys.readouterr()
    assert main([command, "--plain" if command == "run" else "--quiet", str(trace)] if command != "fix"
                else [command, str(trace)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {trace} is a trace recorded by duck, not a Python program\n")
    assert f"hint: open it without running anything: duck replay {trace}" in err
    assert marks.read_text() == "ran\n"


def test_replay_of_something_else_is_an_error_with_a_hint(tmp_path, capsys):
    program = tmp_path / "prog.py"
    program.write_text("print(1)\n")
    assert main(["replay", str(program), "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {program} is not a duck trace") and "\nhint: " in err and "duck run FILE" in err
    assert main(["replay", str(tmp_path / "missing.trace")]) == 2
    assert "cannot read trace" in capsys.readouterr().err


@pytest.mark.parametrize("data", [b"\x7fELF\x02\x01\x01\x00" + bytes(range(128, 256)),  # an executable, say
                                  b'{"format": "duck-trace", "version": 1}\n{"event": "\xff\xfe"}\n'],
                         ids=["binary", "bad-utf8-line"])
def test_replay_of_a_file_that_is_not_utf8_is_an_error_not_a_traceback(tmp_path, capsys, data):
    trace = tmp_path / "a.out"
    trace.write_bytes(data)
    assert main(["replay", str(trace), "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {trace}") and "\nhint: " in err and "Traceback" not in err


def test_a_trace_cut_short_is_not_told_as_a_ctrl_c(recorded, capsys, tmp_path):
    _program, _marks, trace = recorded
    v1, cut = tmp_path / "v1.trace", tmp_path / "cut.trace"
    assert main(["convert", str(trace), "-o", str(v1), "--format", "jsonl"]) == 0
    cut.write_bytes(b"".join(v1.read_bytes().splitlines(keepends=True)[:6]))  # no outcome line
    capsys.readouterr()
    main(["replay", str(cut), "--plain"])
    out = capsys.readouterr().out
    assert "Ctrl-C" not in out
    assert "; then the trace ends without saying how the run ended (the recorder was killed" in out


def test_replay_takes_no_program_arguments():
    with pytest.raises(SystemExit) as exit_:
        parse_command_line(["replay", "x.trace", "--", "a"])
    assert exit_.value.code == 2


@pytest.mark.asyncio
async def test_the_ui_steps_a_replayed_trace_and_will_not_rerun_it(recorded):
    from duck.app import DuckApp
    from duck.commands.run import collaborators
    from duck.session import Session
    from tests.duck.tui.conftest import settle

    _, marks, trace = recorded
    session = Session.load(trace)
    app = DuckApp(session, collaborators())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await settle(pilot)
        assert app.step == 1
        await pilot.press("r")
        await pilot.press("f")
        await settle(pilot)
        assert [message for message, _ in app.errors] == ["this session cannot be re-run", "duck cannot search fixes here"]
    assert marks.read_text() == "ran\n"


def test_record_writes_v2_by_default_and_v1_on_request(tmp_path):
    assert main(["record", str(PROGRAMS / "average.py"), "-o", str(tmp_path / "a.trace"), "--quiet"]) == 0
    assert main(["record", str(PROGRAMS / "average.py"), "-o", str(tmp_path / "b.trace"), "--quiet",
                      "--format", "jsonl"]) == 0
    assert is_v2(tmp_path / "a.trace")
    assert (tmp_path / "b.trace").read_bytes().startswith(b'{"format": "duck-trace", "version": 1')
    assert read_trace(tmp_path / "a.trace").events == read_trace(tmp_path / "b.trace").events


def test_replay_narrates_either_format_the_same(tmp_path, capsys):
    main(["record", str(PROGRAMS / "crash.py"), "-o", str(tmp_path / "a.trace"), "--quiet"])
    assert main(["convert", str(tmp_path / "a.trace"), "-o", str(tmp_path / "a.jsonl")]) == 0
    assert not is_v2(tmp_path / "a.jsonl")
    capsys.readouterr()
    status_v2 = main(["replay", str(tmp_path / "a.trace"), "--plain"])
    text_v2 = capsys.readouterr().out
    status_v1 = main(["replay", str(tmp_path / "a.jsonl"), "--plain"])
    text_v1 = capsys.readouterr().out
    assert status_v2 == status_v1 == 1
    assert text_v1 == text_v2 and "### Outcome" in text_v2
    assert main(["convert", str(tmp_path / "a.jsonl"), "-o", str(tmp_path / "b.trace"), "--format", "binary"]) == 0
    assert read_trace(tmp_path / "b.trace").events == read_trace(tmp_path / "a.trace").events
