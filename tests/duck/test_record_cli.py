"""``duck record``: the one-line summary, exit statuses, -o after FILE, and error:/hint: for programs that cannot start."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


from duck.cli import main as duck_main
from duck.trace.format import read_trace

PROGRAMS = Path(__file__).resolve().parent / "trace" / "programs"
REPO = Path(__file__).resolve().parents[2]


def _run(argv: list[str]) -> int:
    return duck_main(["record", *argv])


def test_records_with_output_after_the_program_arguments(tmp_path, capsys):
    trace = tmp_path / "avg.trace"
    status = _run([str(PROGRAMS / "average.py"), "2", "4", "-o", str(trace)])
    assert status == 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("duck: recorded ") and "finished" in err and str(trace) in err
    recorded = read_trace(trace)
    assert recorded.header["argv"][1:] == ["2", "4"]
    assert "".join(e.get("stdout", "") for e in recorded.events) == "average: 3.0\n"


def test_double_dash_separates_duck_options_from_the_programs(tmp_path, capsys):
    trace = tmp_path / "t.trace"
    _run([str(PROGRAMS / "average.py"), "-o", str(trace), "--quiet", "--", "1", "3"])
    assert read_trace(trace).header["argv"][1:] == ["1", "3"]
    assert "average" not in capsys.readouterr().out  # --quiet: no live copy of the output


def test_program_words_after_double_dash_are_the_programs_even_like_duck_flags(tmp_path):
    trace = tmp_path / "t.trace"
    _run([str(PROGRAMS / "average.py"), "--quiet", "-o", str(trace), "--", "-o", "x"])
    assert read_trace(trace).header["argv"][1:] == ["-o", "x"]


def test_exit_status_is_the_programs(tmp_path):
    assert _run([str(PROGRAMS / "exit3.py"), "-o", str(tmp_path / "a.trace"), "--quiet"]) == 3
    assert _run([str(PROGRAMS / "crash.py"), "-o", str(tmp_path / "b.trace"), "--quiet"]) == 1


def test_a_program_that_cannot_start_is_an_error_with_a_hint(tmp_path, capsys):
    assert _run([str(tmp_path / "nope.py"), "-o", str(tmp_path / "x.trace")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no such file" in err and "\nhint: " in err
    broken = tmp_path / "broken.py"
    shutil.copy(PROGRAMS / "syntax_error.py.txt", broken)
    assert _run([str(broken), "-o", str(tmp_path / "y.trace")]) == 2
    err = capsys.readouterr().err
    assert "line 1, column 7" in err and "def f(:" in err and "Traceback" not in err
    assert read_trace(tmp_path / "y.trace").outcome["outcome"] == "failed_to_start"


def test_unwritable_trace_path_is_an_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _run([str(PROGRAMS / "average.py"), "-o", str(blocker / "sub" / "t.trace")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot write" in err and "\nhint: " in err


def test_duck_record_end_to_end_prints_error_and_hint_not_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "duck", "record", str(tmp_path / "missing.py"), "-o",
                           str(tmp_path / "t.trace")], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "\nhint: " in done.stderr and "Traceback" not in done.stderr
