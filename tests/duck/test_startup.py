"""`duck --help` and `duck-train --help` stay fast: no torch & co. on the start-up path."""

from __future__ import annotations

import subprocess
import sys

import pytest

from duck.session import WHOLE_IN_PYTHON

HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "deepspeed", "datasets", "accelerate")


def _imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = code + "\nimport sys\nprint(','.join(m for m in %r if m in sys.modules))" % (heavy,)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def test_duck_help_imports_nothing_heavy():
    code = "import contextlib, io\nfrom duck.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    assert _imported_after(code) == []


def _long_trace(path, steps: int = 30_000) -> str:
    """A v1 trace of a loop of ``steps`` line events in one frame (longer than a prefix indexed in Python)."""
    lines = ['{"format":"duck-trace","version":1}',
             '{"step":0,"event":"call","file":"f.py","line":1,"func":"<module>","depth":0,"frame":1,"parent":null}']
    lines += ['{"step":%d,"event":"line","file":"f.py","line":%d,"func":"<module>","depth":0,"frame":1,'
              '"parent":null,"changes":{"i":"%d"}}' % (step, 2 + step % 2, step) for step in range(1, steps)]
    lines.append('{"source":"f.py","text":"i = 0\\nwhile True:\\n    i += 1\\n"}')
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_numpy_waits_for_the_first_index(tmp_path):
    """numpy (duck.session_index) is imported when a session first indexes past a short prefix, not
    by `duck --help`, by opening a trace, by a short trace, nor by the first screen's questions about
    a long one."""
    help_code = "import contextlib, io\nfrom duck.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    assert _imported_after(help_code, ("numpy",)) == []
    trace = tmp_path / "t.trace"
    trace.write_text('{"format":"duck-trace","version":1}\n'
                     '{"step":0,"event":"call","file":"f.py","line":1,"func":"<module>","depth":0,"frame":1,"parent":null}\n')
    load = f"from duck.session import Session\nsession = Session.load({str(trace)!r})\nassert len(session) == 1"
    assert _imported_after(load, ("numpy",)) == []
    # a short trace is indexed whole in plain Python, loops included
    assert _imported_after(load + "\nsession.locals_at(0), session.loop_at(0)", ("numpy",)) == []
    long = f"from duck.session import Session\nsession = Session.load({_long_trace(tmp_path / 'long.trace')!r})"
    first_screen = (long + "\nframe = session.frame(0)\nassert [f.frame for f in session.stack(0)] == [1]"
                    "\nsession.locals_at(0), session.changes_at(0), session.executed_lines('f.py', upto=0)"
                    "\nassert session.locals_at(3000) == {'i': '3000'}")
    assert _imported_after(first_screen, ("numpy",)) == []
    assert _imported_after(first_screen + "\nsession.index_all()", ("numpy",)) == ["numpy"]
    # a trace up to WHOLE_IN_PYTHON steps is indexed whole in plain Python: no numpy at any point
    short = ("from duck.session import Session, WHOLE_IN_PYTHON\n"
             f"session = Session.load({_long_trace(tmp_path / 'short.trace', WHOLE_IN_PYTHON)!r})\n"
             "assert len(session) == WHOLE_IN_PYTHON\nsession.index_all()\nassert session.indexed_fraction == 1.0\n"
             "assert session.loop_at(100) is not None and session.locals_at(9000) == {'i': '9000'}")
    assert _imported_after(short, ("numpy",)) == []


@pytest.mark.parametrize("steps", [4_097, WHOLE_IN_PYTHON, WHOLE_IN_PYTHON + 1, 30_000])
def test_the_tui_paints_a_trace_before_importing_numpy(tmp_path, steps):
    """The app's first screen of a trace of any length comes without numpy: a trace up to
    WHOLE_IN_PYTHON steps is indexed whole in plain Python before it (numpy is never imported);
    a longer one is indexed in a worker started after it."""
    trace = _long_trace(tmp_path / "long.trace", steps)
    code = f"""
import asyncio, sys
import duck.app
from duck.app import DuckApp
from duck.session import Session
from duck.widgets import StatusBar
at_first_index = []
index_session = DuckApp._index_session
def noting_numpy(self, session):
    at_first_index.append("numpy" in sys.modules)
    return index_session(self, session)
DuckApp._index_session = noting_numpy
async def main():
    app = DuckApp(Session.load({trace!r}))
    async with app.run_test() as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.indexed_fraction == 1.0
        assert "step 1 of {steps:,}" in str(app.query_one(StatusBar).render())
asyncio.run(main())
assert at_first_index == {[] if steps <= WHOLE_IN_PYTHON else [False]}, at_first_index
"""
    expected = [] if steps <= WHOLE_IN_PYTHON else ["numpy"]
    assert _imported_after(code, ("numpy",)) == expected


def test_duck_train_help_imports_nothing_heavy():
    code = "import contextlib, io\nfrom trainer.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    assert _imported_after(code) == []


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "duck", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("run", "record", "replay", "fix"):
        assert command in result.stdout


def _duck_modules_after(code: str, names: tuple[str, ...]) -> list[str]:
    probe = code + "\nimport sys\nprint(','.join(m for m in %r if m in sys.modules))" % (names,)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


COMMAND_MODULES = ("duck.commands.run", "duck.commands.record", "duck.commands.replay", "duck.commands.convert",
                   "duck.commands.fix")


def test_duck_help_lists_the_commands_without_importing_them():
    code = "import contextlib, io\nfrom duck.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])"
    assert _duck_modules_after(code, COMMAND_MODULES) == []


def test_duck_record_imports_its_own_command_only_and_no_narrator(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text("x = 1\n")
    code = ("import contextlib, io\nfrom duck.cli import main\nwith contextlib.redirect_stderr(io.StringIO()):\n"
            f"    assert main(['record', '--quiet', '-o', {str(tmp_path / 't.trace')!r}, {str(program)!r}]) == 0")
    heavy = ("duck.narration", "duck.session", "duck.app", "textual", "duck.trace.revive")
    assert _duck_modules_after(code, COMMAND_MODULES + heavy) == ["duck.commands.record"]


def test_duck_record_starts_without_the_trace_reader_dataclasses_or_typing(tmp_path):
    """The parent only launches the child and finishes its file (duck.trace.framing): no reader, no C core,
    and none of the stdlib modules that cost it its start-up (counted from what the interpreter had already):
    no json (marshal to and from the child, the trace's JSON by _json) and no tokenize (a source is UTF-8
    unless it says otherwise)."""
    program = tmp_path / "prog.py"
    program.write_text("x = 1\n")
    heavy = ("dataclasses", "typing", "inspect", "hashlib", "duck.trace.binary", "duck.trace.chunks",
             "duck.trace.localdiff", "duck.trace.recorder", "models.base", "json", "tokenize")
    code = (f"import sys\nbefore = set(sys.modules)\nimport contextlib, io\nfrom duck.cli import main\n"
            f"with contextlib.redirect_stderr(io.StringIO()):\n"
            f"    assert main(['record', '--quiet', '-o', {str(tmp_path / 't.trace')!r}, {str(program)!r}]) == 0\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules and m not in before))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
