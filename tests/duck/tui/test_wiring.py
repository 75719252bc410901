"""What ``duck run`` wires into the app, for real: the fix search, the fix writer and the
re-recording on a real buggy program, and the fallback to plain output when no terminal can
be had for the keys."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from duck.app import DuckApp
from duck.commands import run as run_command
from duck.commands.common import request_from_args
from duck.repair.apply import BACKUP_SUFFIX
from duck.screens import FixModal
from duck.session import Session
from duck.trace.runner import record
from tests.duck.tui.conftest import settle

BUGGY = """\
def largest(xs):
    best = xs[0]
    for x in xs:
        if x < best:
            best = x
    return best


assert largest([3, 9, 4]) == 9
"""


def parse_run_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="duck run")
    run_command.configure(parser)
    return parser.parse_args(list(argv))


@pytest.mark.asyncio
@pytest.mark.slow
async def test_f_finds_a_verified_fix_y_writes_it_with_a_backup_and_the_run_is_recorded_again(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text(BUGGY)
    args = parse_run_args(str(program))
    request = request_from_args(args, echo=False)
    record(request, tmp_path / "run.trace")
    session = Session.load(tmp_path / "run.trace")
    assert session.outcome["outcome"] == "exception"

    parts = run_command.collaborators(program=run_command.RecordedProgram(request, request, None, session, tmp_path))
    app = DuckApp(session, parts)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        await settle(pilot)  # the search ran in its worker; the first verified fix is offered
        assert app.fixes and all(fix.verified for fix in app.fixes)
        assert isinstance(app.screen, FixModal)
        offered = app.screen.fix
        assert program.read_text() == BUGGY  # nothing is written before the yes
        await pilot.press("y")
        await settle(pilot)  # applied, then re-recorded in the re-run worker
        assert program.read_text() == offered.patched_source != BUGGY
        backup = program.with_name(program.name + BACKUP_SUFFIX)
        assert backup.read_text() == BUGGY
        assert not list(tmp_path.glob("*.duck-tmp"))  # the atomic write left no temporary behind
        assert app.reruns == 1 and app.session is not session
        assert app.session.outcome["outcome"] == "finished"
        assert "re-ran: finished" in app.note
    assert run_command.final_status(app.session, None) == 0


def test_without_a_terminal_for_keys_duck_run_prints_the_narrated_run(tmp_path):
    """stdin piped and no controlling terminal (a new session): /dev/tty cannot be opened."""
    pty = pytest.importorskip("pty")
    program = tmp_path / "p.py"
    program.write_text("total = sum([1, 2, 3])\nprint(total)\n")
    master, slave = pty.openpty()  # stdout is a terminal, so duck would open the UI
    try:
        result = subprocess.run([sys.executable, "-m", "duck", "run", str(program)], stdout=slave,
                                stderr=subprocess.PIPE, input=b"", start_new_session=True, timeout=120,
                                env=dict(os.environ, OMP_NUM_THREADS="1"))
    finally:
        os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end is closed: all was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert result.returncode == 0
    assert b"/dev/tty cannot be opened" in result.stderr
    text = shown.decode()
    assert "### Execution Simulation:" in text and "total = sum([1, 2, 3])" in text
    assert "\x1b[?1049h" not in text  # no alternate screen: the UI never started
