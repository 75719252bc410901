"""Noticing when a confined program tries to write outside the folders it may write in.

``watch_writes(allowed)`` installs an audit hook that looks only at ``open`` events in a write
mode and at the ``os.*``/``shutil.*`` events that create, change or remove a path, resolves
the path (symlinks included, as the kernel would) and keeps the ones that lie outside
``allowed``, the run's private HOME/TMPDIR and ``/dev/null``. The list it returns fills as
the program runs; the bootstraps of confined runs (``duck.trace._child``, and
``duck.sandbox.program``) put it in their status, so
that ``duck fix`` can say where the program tried to write.

It is an observer, not a boundary: the kernel (``duck.sandbox``, Landlock) refuses the
writes; a program can write without passing through these events (a subprocess, ctypes).
Standard library only; it imports nothing of duck's.
"""

from __future__ import annotations

import os
import sys

#: at most this many distinct paths are kept
MAX_PATHS = 20
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: audit event -> (indices of the paths it writes, indices of its dir_fd arguments)
_PATH_EVENTS = {
    "os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)), "os.mkdir": ((0,), (2,)),
    "os.rename": ((0, 1), (2, 3)), "os.link": ((1,), (2, 3)), "os.symlink": ((1,), (2,)),
    "os.chmod": ((0,), (2,)), "os.chown": ((0,), (3,)), "os.truncate": ((0,), ()),
    "os.utime": ((0,), (3,)), "os.mkfifo": ((0,), (2,)), "os.mknod": ((0,), (3,)),
    "os.setxattr": ((0,), ()), "os.removexattr": ((0,), ()),
    "shutil.copyfile": ((1,), ()), "shutil.rmtree": ((0,), ()),
}


def _writes(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def watch_writes(allowed: list[str]) -> list[str]:
    """Install the hook (for the rest of this process); returns the list of outside paths it fills."""
    roots = {os.path.realpath(p) for p in allowed if p}
    roots.update(os.path.realpath(os.environ[name]) for name in ("HOME", "TMPDIR") if os.environ.get(name))
    roots = tuple(sorted(roots))
    found: list[str] = []

    def outside(path) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        elif not isinstance(path, str):
            path = getattr(path, "__fspath__", lambda: None)()
            if not isinstance(path, str):
                return None  # a file descriptor
        real = os.path.realpath(path)
        if real == os.devnull or real.startswith("/proc/"):
            return None
        if any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            return None
        return real

    def hook(event: str, args: tuple) -> None:
        if len(found) >= MAX_PATHS:
            return
        if event == "open":
            if len(args) < 3 or not _writes(args[1], args[2]):
                return
            paths, dir_fds = (args[0],), ()
        else:
            spec = _PATH_EVENTS.get(event)
            if spec is None:
                return
            paths = tuple(args[i] for i in spec[0] if i < len(args))
            dir_fds = tuple(args[i] for i in spec[1] if i < len(args))
        if any(isinstance(fd, int) and fd >= 0 for fd in dir_fds):
            return  # relative to an open folder: cannot be told from here
        try:  # resolving a path raises no audit event, so this cannot recurse
            for path in paths:
                real = outside(path)
                if real is not None and real not in found:
                    found.append(real)
        except Exception:  # noqa: BLE001 - an observer must never change what the program sees
            pass

    sys.addaudithook(hook)
    return found
