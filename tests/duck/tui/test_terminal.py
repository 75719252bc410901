"""``duck run`` as a real process in a pseudo-terminal: the UI paints, keys change the screen,
q restores the terminal and exits with the program's status, piped stdin still gets a UI.

Also: importing duck.app and painting the first screen loads no torch & co. (a subprocess).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROGRAM = Path(__file__).parent / "programs" / "average.py"
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[A-Za-z~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "deepspeed")

pty = pytest.importorskip("pty")


class Terminal:
    """A child process on a pseudo-terminal, and the text it has drawn so far (escapes removed)."""

    def __init__(self, argv: list[str], stdin_text: str | None = None, size=(30, 100)) -> None:
        import fcntl
        import struct
        import termios

        read_end = None
        if stdin_text is not None:
            read_end, write_end = os.pipe()
            os.write(write_end, stdin_text.encode())
            os.close(write_end)
        pid, fd = pty.fork()
        if pid == 0:  # the child: a session leader whose controlling terminal is the pty
            if read_end is not None:
                os.dup2(read_end, 0)
            env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(size[1]), LINES=str(size[0]),
                       OMP_NUM_THREADS="1")
            env.pop("TEXTUAL", None)
            os.execvpe(argv[0], argv, env)
        if read_end is not None:
            os.close(read_end)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        self.pid, self.fd = pid, fd
        self.raw = b""

    def read_until(self, pattern: bytes, timeout: float = 30.0) -> bytes:
        """Read until the de-escaped output since the last call contains ``pattern``."""
        start = len(self.text())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.raw += chunk
                if pattern in self.text()[start:]:
                    return self.text()[start:]
        raise AssertionError(f"{pattern!r} never appeared; screen text: {self.text()[start:][-2000:]!r}")

    def text(self) -> bytes:
        return ANSI.sub(b"", self.raw)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if ready:
                    self.raw += os.read(self.fd, 65536)
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        raise AssertionError("duck did not exit")


def duck_argv(*extra: str) -> list[str]:
    return [sys.executable, "-m", "duck", "run", *extra, str(PROGRAM)]


@pytest.mark.slow
def test_duck_run_in_a_pseudo_terminal():
    term = Terminal(duck_argv())
    term.send("4\n")  # the program reads a line from the terminal while it is recorded
    first = term.read_until(b"step 1 of")
    assert b"def average(xs):" in first
    term.send("n")
    term.read_until(b"step 2 of")
    term.send("e")
    term.read_until("· exception ·".encode())
    term.send("q")
    assert term.wait() == 1  # the program's status: it raised
    tail = term.raw[-400:]
    assert b"\x1b[?1049l" in tail  # the alternate screen was left: the terminal is restored


@pytest.mark.slow
def test_piped_stdin_goes_to_the_program_and_the_ui_still_opens():
    term = Terminal(duck_argv(), stdin_text="5\n")
    term.read_until(b"step 1 of")
    term.send("G")
    term.read_until("· return · <module>()".encode())  # the last step
    term.send("q")
    assert term.wait() == 1
    assert b"2.0" in term.text()  # average(range(5)) was printed by the program


def test_first_paint_imports_no_torch():
    probe = f"""
import asyncio, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
from tests.duck.tui.conftest import average_trace
from duck.session import Session
from duck.app import DuckApp

async def main():
    app = DuckApp(Session.from_trace(average_trace()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.source_view.file is not None

asyncio.run(main())
print(",".join(m for m in {HEAVY!r} if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _terminal_modes(fd: int) -> tuple[bool, bool]:
    """(echo, canonical) of the pseudo-terminal: both on in a shell's terminal, off in a TUI's."""
    import termios

    lflag = termios.tcgetattr(fd)[3]
    return bool(lflag & termios.ECHO), bool(lflag & termios.ICANON)


@pytest.mark.slow
def test_ctrl_c_quits_and_restores_the_terminal():
    term = Terminal(duck_argv(), stdin_text="3\n")
    before = _terminal_modes(term.fd)
    term.read_until(b"step 1 of")
    assert _terminal_modes(term.fd) == (False, False)  # raw mode while the UI runs
    term.send("\x03")
    assert term.wait() == 1  # the program's own status (it raised), as with q
    assert b"\x1b[?1049l" in term.raw[-400:]
    assert _terminal_modes(term.fd) == before == (True, True)


def test_an_error_inside_the_app_restores_the_terminal_and_is_reported(tmp_path):
    probe = tmp_path / "broken_app.py"
    probe.write_text(f"""
import sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
import duck.app
from tests.duck.tui.conftest import average_trace
from duck.session import Session
from duck.app import DuckApp

class BrokenApp(DuckApp):  # a bug in a key handler, as a test double
    CSS_PATH = str(Path(duck.app.__file__).with_name("app.tcss"))

    def action_step(self, delta):
        raise RuntimeError("a bug in the UI")

app = BrokenApp(Session.from_trace(average_trace()))
app.run()
print("exited with", app.return_code)
""")
    term = Terminal([sys.executable, str(probe)])
    before = _terminal_modes(term.fd)
    term.read_until(b"step 1 of")
    term.send("n")
    term.wait()
    after_ui = term.raw[term.raw.rfind(b"\x1b[?1049l"):]
    assert term.raw.rfind(b"\x1b[?1049l") > term.raw.find(b"\x1b[?1049h") >= 0  # left the alternate screen
    assert b"a bug in the UI" in after_ui and b"exited with 1" in after_ui  # reported on the restored screen
    assert _terminal_modes(term.fd) == before == (True, True)
