"""``duck run``'s temporary folder (``/tmp/duck-*/run.trace``, hundreds of MB for a long run) is
removed on every way out: q, an error, and a closed terminal (SIGHUP) or a kill (SIGTERM), both
while the UI is open and while the program is still being recorded. Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from duck.commands.scratch import scratch_folder

REPO = Path(__file__).resolve().parents[2]


def duck_env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, TMPDIR=str(tmp), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.05)


def leftovers(tmp: Path) -> list[str]:
    return sorted(path.name for path in tmp.iterdir() if path.name.startswith("duck-"))


def running(marker: str) -> bool:
    """Whether a process whose command line names ``marker`` is still alive (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    state = (entry / "stat").read_text().split(")")[-1].split()[0]
                    if state != "Z":
                        return True
            except OSError:
                continue
    return False


def test_the_folder_goes_at_the_end_of_the_block_and_on_an_error(tmp_path):
    with scratch_folder() as folder:
        (folder / "run.trace").write_bytes(b"x" * 1000)
    assert not folder.exists()
    with pytest.raises(RuntimeError):
        with scratch_folder() as folder:
            raise RuntimeError("a crash")
    assert not folder.exists()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_while_the_ui_is_open_removes_the_trace_folder(tmp_path, signum):
    from tests.duck.tui.test_terminal import Terminal

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    program = tmp_path / "prog.py"
    program.write_text("total = 0\nfor i in range(3):\n    total += i\nprint(total)\n")
    os.environ["TMPDIR"], previous = str(tmp), os.environ.get("TMPDIR")
    try:
        term = Terminal([sys.executable, "-m", "duck", "run", str(program)], size=(24, 80))
    finally:
        if previous is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = previous
    term.read_until(b"step 1 of")
    assert list(tmp.glob("duck-*/run.trace"))  # the recording is there while the UI shows it
    os.kill(term.pid, signum)
    assert term.wait() == -signum  # ended by that signal, as the shell expects
    assert leftovers(tmp) == []


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_while_recording_stops_the_program_and_removes_every_folder(tmp_path, signum):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    program = tmp_path / f"endless_{signum}.py"
    program.write_text("n = 0\nwhile True:\n    n += 1\n")
    duck = subprocess.Popen([sys.executable, "-m", "duck", "run", "--plain", "--max-steps", "100000000",
                             str(program)], env=duck_env(tmp), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # the program has recorded steps (so duck waits for it; a signal while duck is still starting
        # it is a Ctrl-C at that moment, which the recorder's runner does not handle either)
        wait_for(lambda: any(path.stat().st_size for path in tmp.glob("duck-*/run.trace")), "recorded steps")
        duck.send_signal(signum)
        out, err = duck.communicate(timeout=120)
    finally:
        if duck.poll() is None:
            duck.kill()
    assert duck.returncode == 128 + signum, err.decode()[-2000:]
    assert leftovers(tmp) == []
    if Path("/proc").is_dir():
        wait_for(lambda: not running(str(program)), "the recorded program's end", timeout=30)
