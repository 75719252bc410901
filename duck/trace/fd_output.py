"""Output that reaches the recording child's fd 1 and 2 without passing through duck's streams.

When duck does not echo the program's output (``duck run --plain``, re-runs, ``duck fix``), the
child's fd 1 and 2 are files of the run's private folder, and ``sys.stdout``/``sys.stderr`` are
duck's ``CapturedStream``s, which note each write and do not pass it on. What a subprocess
(``os.system``, ``subprocess.run`` without ``capture_output``) or C code writes to those fds
lands in the files unseen. ``FdOutput`` reads it back (``os.pread`` from where it last looked, so
the fds' shared offset is untouched) and notes it through the stream's ``OutputTap``, as if the
program had printed it at the step that was running when it looked: when a wait for a child
process returns (``os.system``, ``os.waitpid``, ``os.wait*``, which ``subprocess`` uses), before
the program's own ``os.write`` to that fd, and once at the end of the run.

It is not a pipe reader: output of a process that runs on while the program does other work is
attributed at the next of those points, not to the step in which it was written. With echo on,
the fds are the terminal (or followed by the parent) and nothing is read back.
"""

from __future__ import annotations

import os


class FdOutput:
    """Reads back what reached the files behind fd 1/2 (``paths``) beyond what the child wrote itself."""

    def __init__(self, paths: dict[int, str], taps: dict, pid: int) -> None:
        self._paths = paths
        self._taps = taps  # fd -> OutputTap (the stream's own, so split characters join up)
        self._pid = pid
        self._seen = {fd: 0 for fd in paths}  # bytes of each file already noted (or written by the child)
        self._readers: dict[int, int] = {}
        self._busy = False

    def collect(self) -> None:
        """Note the bytes that reached the files since the last look (in this process only)."""
        if self._busy or os.getpid() != self._pid:
            return
        self._busy = True  # a tap can stop the run at the output limit, which looks again
        try:
            for fd in self._paths:
                self._collect(fd)
        finally:
            self._busy = False

    def _collect(self, fd: int) -> None:
        try:
            size = os.fstat(fd).st_size
        except OSError:  # the program closed the fd: nothing more reaches the file through it
            return
        seen = self._seen[fd]
        if size <= seen:
            return
        reader = self._readers.get(fd)
        if reader is None:
            try:
                reader = self._readers[fd] = os.open(self._paths[fd], os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self._paths = {k: v for k, v in self._paths.items() if k != fd}
                return
        data = os.pread(reader, size - seen, seen)
        self._seen[fd] = seen + len(data)
        tap = self._taps.get(fd)
        if data and tap is not None:
            tap(data)

    def wrote(self, fd: int, written: int) -> None:
        """The child itself wrote ``written`` bytes to ``fd`` (``os.write``): not foreign output."""
        if fd in self._seen and os.getpid() == self._pid:
            self._seen[fd] += written

    def close(self) -> None:
        for reader in self._readers.values():
            try:
                os.close(reader)
            except OSError:
                pass
        self._readers.clear()
