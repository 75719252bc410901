"""`duck --help` and `duck-train --help` stay fast: no torch & co. on the start-up path."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "deepspeed", "datasets", "accelerate")


def _imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = code + "\nimport sys\nprint(','.join(m for m in %r if m in sys.modules))" % (heavy,)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def test_duck_help_imports_nothing_heavy():
    code = "import contextlib, io\nfrom duck.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    assert _imported_after(code) == []


def test_numpy_waits_for_the_first_index(tmp_path):
    """numpy (duck.session_index) is imported when a session first indexes, not by `duck --help`
    nor by opening a trace."""
    help_code = "import contextlib, io\nfrom duck.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    assert _imported_after(help_code, ("numpy",)) == []
    trace = tmp_path / "t.trace"
    trace.write_text('{"format":"duck-trace","version":1}\n'
                     '{"step":0,"event":"call","file":"f.py","line":1,"func":"<module>","depth":0,"frame":1,"parent":null}\n')
    load = f"from duck.session import Session\nsession = Session.load({str(trace)!r})\nassert len(session) == 1"
    assert _imported_after(load, ("numpy",)) == []
    assert _imported_after(load + "\nsession.locals_at(0)", ("numpy",)) == ["numpy"]


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
    and none of the stdlib modules that cost it its start-up (counted from what the interpreter had already)."""
    program = tmp_path / "prog.py"
    program.write_text("x = 1\n")
    heavy = ("dataclasses", "typing", "inspect", "hashlib", "duck.trace.binary", "duck.trace.chunks",
             "duck.trace.localdiff", "duck.trace.recorder", "models.base")
    code = (f"import sys\nbefore = set(sys.modules)\nimport contextlib, io\nfrom duck.cli import main\n"
            f"with contextlib.redirect_stderr(io.StringIO()):\n"
            f"    assert main(['record', '--quiet', '-o', {str(tmp_path / 't.trace')!r}, {str(program)!r}]) == 0\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules and m not in before))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
