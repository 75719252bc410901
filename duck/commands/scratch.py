"""A command's temporary folder, removed on every way out: a normal exit, an exception, SIGHUP, SIGTERM.

``duck run`` records into ``/tmp/duck-*/run.trace`` (hundreds of MB for a long run). A
``TemporaryDirectory`` alone is removed on a normal exit and on an exception, but a closed
terminal (SIGHUP) or a ``kill`` (SIGTERM) ends Python without unwinding, and the folder stayed.
``scratch_folder`` registers the folder; while one is registered, SIGHUP and SIGTERM remove every
registered folder and then end duck by that same signal (its default action), so the shell sees
what it sent. Nothing is unwound on that path: a Textual app whose terminal is gone cannot be
relied on to shut down, and the folders are all that must not outlive duck.

While the program is being recorded (``stoppable``) the signal instead stops the recording as
Ctrl-C does (the runner stops the program, which runs in its own session and would otherwise
outlive duck, and removes its own files); the block then ends in ``SystemExit(128 + signal)``
and the folders go as on any exit.

A trace the user asked to keep (``--save TRACE``) is written outside the folder and stays.
This module only manages folders and the two signals; it imports nothing heavy.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: The signals that end duck from outside and would otherwise leave the folders behind.
SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM") if hasattr(signal, name))

_folders: list[str] = []
_previous: dict[int, object] = {}
_stoppable = False
_received: int | None = None


class Stopped(KeyboardInterrupt):
    """SIGHUP or SIGTERM arrived while the program was recorded: stop as Ctrl-C stops a recording."""


def _remove_and_die(signum: int, frame) -> None:
    global _received
    if _stoppable and _received is None:
        _received = signum
        raise Stopped(signum)
    for folder in list(_folders):
        shutil.rmtree(folder, ignore_errors=True)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install() -> None:
    for signum in SIGNALS:
        previous = signal.getsignal(signum)
        if previous is signal.SIG_IGN:  # nohup duck ...: the user asked duck to outlive the terminal
            continue
        _previous[signum] = previous
        signal.signal(signum, _remove_and_die)


def _uninstall() -> None:
    for signum, previous in _previous.items():
        signal.signal(signum, previous)
    _previous.clear()


@contextmanager
def scratch_folder(prefix: str = "duck-") -> Iterator[Path]:
    """A new temporary folder, removed when the block ends and when SIGHUP/SIGTERM end duck.

    The signal handlers are installed only from the main thread (Python's rule); elsewhere the
    folder is still removed when the block ends.
    """
    folder = tempfile.mkdtemp(prefix=prefix)
    from threading import current_thread, main_thread

    handles_signals = current_thread() is main_thread()
    if handles_signals and not _folders:
        _install()
    _folders.append(folder)
    try:
        yield Path(folder)
    finally:
        _folders.remove(folder)
        if handles_signals and not _folders:
            _uninstall()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def stoppable() -> Iterator[None]:
    """Around a recording: SIGHUP/SIGTERM stop it (``Stopped``, a ``KeyboardInterrupt``, which the
    runner handles as Ctrl-C), then the block raises ``SystemExit(128 + signal)``. A second signal
    removes the folders and ends duck at once."""
    global _stoppable
    _stoppable = True
    try:
        yield
    finally:
        _stoppable = False
    if _received is not None:
        raise SystemExit(128 + _received)
