"""The fork server: ``python -m duck.sandbox.server CONFIG`` — the trusted supervisor of sandboxed runs.

Started by ``duck.sandbox.Sandbox``, one per slot. It imports what its jobs need once (the
*zygote*: a fresh process per job costs a fork, not an interpreter start), then reads one job
per line on its private stdin and answers one JSON line on its private stdout. It never runs
untrusted code itself, and never forks a run from its own memory, which holds what earlier jobs
sent and returned: a ``Zygote`` forked before the first job forks every run, and the job reaches
the run through a memfd only the run reads. Each run is a child that confines itself
(``duck.sandbox.confine``) and then either calls a job function (``"call"``: duck's own code,
which runs the untrusted snippet and returns *data*) or execs a program (``"exec"``).

A ``"batch"`` job runs many calls in one confined child: the child enters the sandbox once
(mount namespace, uid, Landlock's rules, rlimits) and then, one sample after the other, forks
a fresh process per sample that adds a nested Landlock layer of its own
(``confine.enter_nested``: writes only in the sample's own folder, signals and abstract
sockets scoped to the sample), so a sample cannot reach the batch's process or write where
another sample will look. Each sample writes its result to a pipe of its own that only this
server reads, so the batch's process never holds a sample's data and no sample can write
another's result. Between samples the batch's process, subreaper of its samples, kills
whatever the last one left and removes its folder before the next one starts; where the folder
cannot be removed, the batch stops and the rest of its samples are reported as not run.

It is the child subreaper of everything the job starts, so when the job ends (finished, timed
out, cancelled by a ``cancel`` line, or the parent went away: stdin closed) it kills the job's
whole tree — also processes that left the job's session or were orphaned — and, when it runs
as root, every process of the job's own uid. Then it removes the job's private folder. Every
job starts from the same clean state: nothing a job does survives into the next.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import shutil
import signal
import sys
import time
import traceback

from duck.sandbox.confine import ConfinementError, enter, enter_nested, warm
from duck.sandbox.landlock import libc as _libc
from duck.sandbox.policy import Policy, interpreter_paths

_PR_SET_CHILD_SUBREAPER, _PR_SET_PDEATHSIG = 36, 1
#: a job's reply is cut beyond this many bytes (a runaway result must not exhaust the supervisor)
MAX_RESULT_BYTES = 256 * 2**20
#: how the error of a run whose confinement could not be set up starts
SETUP_FAILED = "the sandbox could not be set up"
#: bound before any job runs, so a run that replaces ``json.dumps`` still reports through the real one
_dumps = json.dumps




def _children() -> list[int]:
    pids: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            continue
    return pids


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _kill(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(uid: int | None, keep: int | None = None) -> int:
    """Kill every process left by the last job; how many.

    The server is the child subreaper, so everything the job started and left behind is a child
    of the server or a descendant of one: killing the children until none is left gets them all
    (each killed one's own children come back to the server). As root, the processes of the
    job's uid are swept once more, as a backstop, when anything was left at all.
    """
    killed = 0
    for _ in range(200):  # a fork loop may race the killing for a moment; RLIMIT_NPROC bounds it
        victims = set(_children())
        if killed and uid is not None and os.geteuid() == 0:
            victims.update(_processes_of(uid))
        victims.discard(os.getpid())
        victims.discard(keep)
        if not victims:
            break
        for pid in victims:
            _kill(pid)
        killed += len(victims)
        time.sleep(0.002)
        _reap()
    _reap()
    return killed


def _chown_tree(path: str, uid: int) -> None:
    os.chown(path, uid, uid)
    for current, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                os.chown(os.path.join(current, name), uid, uid, follow_symlinks=False)
            except OSError:
                pass


#: seconds between two looks at how much a run has written (a statvfs; a walk of its folders
#: only once the file system lost more than the run's ``Policy.disk_mb``)
DISK_CHECK_S = 0.25


class _DiskWatch:
    """Whether a run's folders hold more than ``disk_mb`` (``over``): cheap while the file system
    holding them has not lost that much free space since the run started, exact after."""

    def __init__(self, folders: list[str], disk_mb: int | None) -> None:
        self.folders = [f for f in folders if os.path.isdir(f)]
        self.limit = disk_mb * 2**20 if disk_mb else None
        self.active = bool(self.limit and self.folders)
        self.next = 0.0
        self.start_free = self._free() if self.active else None

    def _free(self) -> int | None:
        try:
            stat = os.statvfs(self.folders[0])
        except OSError:
            return None
        return stat.f_bavail * stat.f_frsize

    def over(self, final: bool = False) -> bool:
        """``final``: the run has ended: look now, whenever the last look was (a run that wrote its
        too much within one ``DISK_CHECK_S`` and ended is over the bound too)."""
        if not self.active or (not final and time.monotonic() < self.next):
            return False
        self.next = time.monotonic() + DISK_CHECK_S
        free = self._free()
        if free is None or self.start_free is None or self.start_free - free <= self.limit:
            return False
        return _disk_usage(self.folders) > self.limit


def _disk_usage(folders: list[str]) -> int:
    """Bytes the files under ``folders`` take on disk (links not followed, hard links once); a
    folder that cannot be read makes it too much to count."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = list(folders)
    while stack:
        folder = stack.pop()
        try:
            try:
                entries = os.scandir(folder)
            except PermissionError:  # the run took its own folder's permissions away: give them back
                os.chmod(folder, 0o700)
                entries = os.scandir(folder)
            with entries:
                for entry in entries:
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if (stat.st_dev, stat.st_ino) in seen:
                        continue
                    seen.add((stat.st_dev, stat.st_ino))
                    total += stat.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            return 1 << 62  # what cannot be counted counts as too much
    return total


class ZygoteGone(RuntimeError):
    """The zygote that forks the runs stopped answering: the server cannot run jobs any more."""


class Zygote:
    """The process every run is forked from: a fork of the server made before the first job, so
    it holds the preloaded modules and nothing of any job. A run forked from the server itself
    would inherit whatever earlier jobs left in its memory: a freed buffer with the reference
    solution an evaluation ran before, or with its outputs, can be read back with ``ctypes``.

    The server sends it ``"fork"`` with the run's descriptors (``socket.send_fds``): a memfd
    holding the job (which only the forked run reads), the result pipe and a batch's sample
    pipes; it forks, and answers with the run's pid and a pidfd. The run stays its (zombie)
    child until the server asks ``"reap"`` (so its pid cannot be reused while the server may
    still signal it); the answer is the wait status. It dies with the server (PDEATHSIG).
    """

    def __init__(self, server: "Server") -> None:
        import socket

        self._socket = socket
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            self.sock.close()
            _zygote_main(server, theirs, parent)
        theirs.close()
        self.pid = pid
        self.sock.settimeout(ZYGOTE_ANSWER_S)

    def fork(self, job: dict, folder: str, result_fd: int, sample_fds: list[int]) -> tuple[int, int]:
        """Fork a run of ``job``; its pid and a pidfd of it."""
        socket = self._socket
        memfd = os.memfd_create("duck-job", os.MFD_CLOEXEC)
        try:
            _write_all(memfd, _dumps({"job": job, "folder": folder}).encode())
            socket.send_fds(self.sock, [b"fork"], [memfd, result_fd, *sample_fds])
            message, fds, _, _ = socket.recv_fds(self.sock, 64, 1)
        except OSError as exc:
            raise ZygoteGone(f"the zygote went away: {exc!r}") from None
        finally:
            os.close(memfd)
        if not message or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise ZygoteGone("the zygote could not fork a run")
        return int(message), fds[0]

    def reap(self) -> int:
        """Reap the run forked last (it has ended); its wait status."""
        try:
            self.sock.send(b"reap")
            message = self.sock.recv(64)
        except OSError as exc:
            raise ZygoteGone(f"the zygote went away: {exc!r}") from None
        if not message:
            raise ZygoteGone("the zygote went away")
        return int(message)


#: seconds the zygote may take to fork a run or reap it
ZYGOTE_ANSWER_S = 60.0


def _zygote_main(server: "Server", sock, parent: int) -> None:
    """The zygote's loop (see ``Zygote``). Never returns."""
    import socket

    try:
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(0)
        _close_fds_except({0, 1, 2, sock.fileno()})
        child = None
        while True:
            message, fds, _, _ = socket.recv_fds(sock, 64, 64)
            if message == b"fork" and fds:
                pid = os.fork()
                if pid == 0:
                    sock.close()
                    _forked_run(server, fds)
                pidfd = os.pidfd_open(pid)
                for fd in fds:
                    os.close(fd)
                socket.send_fds(sock, [str(pid).encode()], [pidfd])
                os.close(pidfd)
                child = pid
            elif message == b"reap" and child is not None:
                _, status = os.waitpid(child, 0)
                child = None
                sock.send(str(status).encode())
            else:
                for fd in fds:
                    os.close(fd)
                if not message:
                    break
                sock.send(b"")
    except BaseException:  # noqa: BLE001 - the server sees the zygote gone
        pass
    os._exit(0)


def _forked_run(server: "Server", fds: list[int]) -> None:
    """In a run just forked from the zygote: read the job from its memfd, then run it. Never returns."""
    memfd, result_fd, *sample_fds = fds
    try:
        os.lseek(memfd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(memfd, 1 << 20):
            chunks.append(chunk)
        os.close(memfd)
        message = json.loads(b"".join(chunks))
        del chunks
    except BaseException as exc:  # noqa: BLE001
        os._exit(_report_failure(result_fd, exc, 1))
    server._child(message["job"], message["folder"], result_fd, sample_fds)


def _close_fds_except(keep: set[int]) -> None:
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


class Server:
    def __init__(self, config: dict, control: int) -> None:
        self.config = config
        self.policy = Policy.from_dict(config.get("policy") or {})
        self.uid = config.get("uid") if os.geteuid() == 0 and self.policy.drop_privileges else None
        self.root = config["root"]
        self.control = control
        self.control_buffer = bytearray()
        self.require_landlock = bool(config.get("require_landlock"))
        self.jobs = 0
        self.parent_gone = False
        self.zygote: Zygote | None = None  # started by ``start_zygote``, once the preloads are in
        for python in (None, sys.executable):  # computed once here, inherited by every forked run
            interpreter_paths(python)
            warm(python)
        _libc()

    def start_zygote(self) -> None:
        """Fork the zygote every run is forked from (``Zygote``); call it before any job."""
        self.zygote = Zygote(self)

    # ------------------------------------------------------------------ the child
    def _child(self, job: dict, folder: str, result_fd: int, sample_fds: list[int] = ()) -> None:
        """In the forked child: confine, then run the job. Never returns."""
        status = 0
        try:
            keep = {result_fd, *sample_fds}
            if job["kind"] == "exec":
                self._redirect(job, folder)
                keep |= {0, 1, 2}
            else:
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                keep |= {0, 1, 2}
            _close_fds_except(keep)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.chdir(job.get("cwd") or folder)
            report = enter(self.policy, folder, uid=self.uid, writable=list(job.get("writable") or ()),
                           readable=list(job.get("readable") or ()), python=job.get("python"),
                           require_landlock=self.require_landlock)
            _write_all(result_fd, (_dumps({"confinement": report}) + "\n").encode())
            if job["kind"] == "exec":
                os.set_inheritable(result_fd, False)
                argv = job["argv"]
                os.execve(argv[0], argv, job["env"])
            if job["kind"] == "batch":
                self._batch(job, folder, result_fd, list(sample_fds))
            else:
                _call(job, result_fd)
        except BaseException as exc:  # noqa: BLE001 - reported to the supervisor, never raised past the fork
            status = _report_failure(result_fd, exc, 127 if job["kind"] == "exec" else 1)
        os._exit(status)

    # ------------------------------------------------------------------ a batch, in its confined child
    def _batch(self, job: dict, folder: str, result_fd: int, sample_fds: list[int]) -> None:
        """Run the items of a batch job one after the other, each in a fresh process of its own
        (see the module docstring). Sample ``i`` writes its result to ``sample_fds[i]``; this
        process writes ``{"item": i, "reply": <how it ended>}`` lines to ``result_fd``."""
        _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        me = os.getpid()
        for index, item in enumerate(job.get("items") or ()):
            sample_folder = os.path.join(folder, f"s{index}")
            os.mkdir(sample_folder, 0o700)
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:
                self._sample(item, sample_folder, sample_fds[index], me)
            os.close(sample_fds[index])
            reply = _watch(item, pid, started)
            reply["strays"] = sweep(None)
            removed = _remove_tree(sample_folder)
            reply["duration_s"] = round(time.monotonic() - started, 4)
            _write_all(result_fd, (_dumps({"item": index, "reply": reply}) + "\n").encode())
            del reply
            if not removed:
                _write_all(result_fd, (_dumps({"error": f"sample {index} left files that could not be removed; "
                                                         "the batch stopped"}) + "\n").encode())
                return

    def _sample(self, item: dict, folder: str, result_fd: int, parent: int) -> None:
        """In a sample's process, forked from the batch's: confine further, call. Never returns."""
        status = 0
        try:
            _close_fds_except({0, 1, 2, result_fd})
            os.chdir(folder)
            report = enter_nested(self.policy, folder, parent=parent)
            _write_all(result_fd, (_dumps({"confinement": report}) + "\n").encode())
            _call(item, result_fd)
        except BaseException as exc:  # noqa: BLE001 - reported to the server, never raised past the fork
            status = _report_failure(result_fd, exc, 1)
        os._exit(status)

    def _redirect(self, job: dict, folder: str) -> None:
        stdin = job.get("stdin")
        fds = [os.open(stdin or os.devnull, os.O_RDONLY)]
        for key in ("stdout", "stderr"):
            path = job.get(key) or os.devnull
            fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            if fd > 2:
                os.close(fd)

    # ------------------------------------------------------------------ the supervisor
    def _control_line(self) -> str | None:
        """A line from the parent, '' when none is complete yet, None when the parent is gone."""
        try:
            chunk = os.read(self.control, 65536)
        except BlockingIOError:
            return ""
        if not chunk:
            return None
        self.control_buffer += chunk
        return ""

    def _cancel_requested(self) -> bool:
        """Whether the lines come so far ask to cancel the running job (they are consumed)."""
        lines, _, self.control_buffer = self.control_buffer.rpartition(b"\n")
        return b"cancel" in lines.split(b"\n")

    def _next_control(self) -> str | None:
        if b"\n" in self.control_buffer:
            line, _, self.control_buffer = self.control_buffer.partition(b"\n")
            return line.decode()
        return ""

    def run(self, job: dict) -> dict:
        self.jobs += 1
        folder = os.path.join(self.root, f"job{self.jobs}")
        os.mkdir(folder, 0o700)
        writable = [folder, *(job.get("writable") or ())]
        if self.uid is not None:
            for path in writable:
                if os.path.exists(path):
                    _chown_tree(path, self.uid)
        if job["kind"] == "exec":
            home = {name: folder for name in ("HOME", "TMPDIR", "TMP", "TEMP")}
            job = {**job, "env": {**job.get("env", {}), **home}}
        reader, writer = os.pipe()
        # a batch: one result pipe per sample, read here only
        pipes = [os.pipe() for _ in job.get("items") or ()] if job["kind"] == "batch" else []
        started = time.monotonic()
        try:
            pid, pidfd = self.zygote.fork(job, folder, writer, [end for _, end in pipes])
        finally:
            os.close(writer)
            for _, end in pipes:
                os.close(end)
        try:
            reply = self._supervise(job, pid, pidfd, reader, started, [end for end, _ in pipes],
                                    folders=writable)
        finally:
            os.close(reader)
            for end, _ in pipes:
                os.close(end)
        reply["strays"] = sweep(self.uid, keep=self.zygote.pid)
        for path in [folder]:
            shutil.rmtree(path, ignore_errors=True)
        if self.uid is not None:
            for path in job.get("writable") or ():  # hand the run's files back to duck's user
                if os.path.exists(path):
                    _chown_tree(path, os.getuid())
        reply["duration_s"] = round(time.monotonic() - started, 4)
        return reply

    def _supervise(self, job: dict, pid: int, pidfd: int, reader: int, started: float,
                   sample_readers: list[int] = (), folders: list[str] = ()) -> dict:
        timeout = float(job.get("timeout_s") or 0) or None
        grace = float(job.get("grace_s") or 0)
        disk = _DiskWatch(folders, self.policy.disk_mb)
        os.set_blocking(reader, False)
        data = bytearray()
        samples = [bytearray() for _ in sample_readers]
        share = MAX_RESULT_BYTES // max(1, len(sample_readers))  # a batch's samples share the bound
        stopped_by = None
        term_sent_at = None
        with selectors.DefaultSelector() as selector:
            selector.register(pidfd, selectors.EVENT_READ, "exit")
            selector.register(reader, selectors.EVENT_READ, "result")
            selector.register(self.control, selectors.EVENT_READ, "control")
            for index, fd in enumerate(sample_readers):
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ, index)
            exited = False
            if self._cancel_requested():  # a cancel that came in the same read as its job
                stopped_by = "cancelled"
                self._stop(pid, grace)
                term_sent_at = time.monotonic() if grace > 0 else None
            while not exited:
                now = time.monotonic()
                if term_sent_at is not None:
                    wait = term_sent_at + grace - now
                    if wait <= 0:
                        self._signal_job(pid, signal.SIGKILL)
                        term_sent_at = None
                        wait = 1.0
                elif timeout is not None and stopped_by is None:
                    wait = started + timeout - now
                    if wait <= 0:
                        stopped_by = "timeout"
                        self._stop(pid, grace)
                        term_sent_at = time.monotonic() if grace > 0 else None
                        continue
                else:
                    wait = 1.0
                if stopped_by is None and disk.over():
                    stopped_by = "disk"
                    self._signal_job(pid, signal.SIGKILL)  # no grace: every moment writes more
                    continue
                if disk.active:
                    wait = min(wait, DISK_CHECK_S)
                for key, _ in selector.select(max(wait, 0.0)):
                    if type(key.data) is int:
                        if self._drain(key.fd, samples[key.data], share):
                            selector.unregister(key.fd)
                    elif key.data == "exit":
                        exited = True
                    elif key.data == "result":
                        if self._drain(reader, data):  # closed (by the exec, or the job's end): stop watching it
                            selector.unregister(reader)
                    elif key.data == "control":
                        gone = self._control_line() is None
                        if gone:
                            self.parent_gone = True
                            selector.unregister(self.control)
                        if stopped_by is None and (gone or self._cancel_requested()):
                            stopped_by = "cancelled"
                            self._stop(pid, grace)
                            term_sent_at = time.monotonic() if grace > 0 else None
            self._drain(reader, data)
            for fd, collected in zip(sample_readers, samples):
                self._drain(fd, collected, share)
        if stopped_by is None and disk.over(final=True):
            stopped_by = "disk"  # ended before a look caught it: what it wrote is still beyond the bound
        os.close(pidfd)
        wait_status = self.zygote.reap()
        reply = self._reply(job, wait_status, stopped_by, bytes(data))
        if job["kind"] == "batch":
            reply["results"] = [None if ended is None else {**ended, **_parse(bytes(collected), "call")}
                                for ended, collected in zip(reply["results"], samples)]
        return reply

    def _signal_job(self, pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        _kill(pid, sig)

    def _stop(self, pid: int, grace: float) -> None:
        self._signal_job(pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)

    @staticmethod
    def _drain(reader: int, data: bytearray, limit: int = MAX_RESULT_BYTES) -> bool:
        """Read what the job wrote so far (kept up to ``limit`` bytes); True once its end of the
        pipe is closed."""
        while True:
            try:
                chunk = os.read(reader, 1 << 20)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            if len(data) < limit:
                data += chunk[: limit - len(data)]

    @staticmethod
    def _reply(job: dict, wait_status: int, stopped_by: str | None, data: bytes) -> dict:
        reply: dict = {"exit_code": None, "signal": None, "stopped_by": stopped_by}
        if os.WIFEXITED(wait_status):
            reply["exit_code"] = os.WEXITSTATUS(wait_status)
        elif os.WIFSIGNALED(wait_status):
            reply["signal"] = os.WTERMSIG(wait_status)
        reply.update(_parse(data, job["kind"], len(job.get("items") or ())))
        if stopped_by == "disk":  # what it returned is not believed (it may have ended by itself)
            reply["result"] = None
            reply["error"] = "the run's folders held more than its disk bound (Policy.disk_mb)"
        return reply


def _parse(data: bytes, kind: str, items: int = 0) -> dict:
    """What a run wrote on its result pipe: its confinement report, result (a call), item
    replies (a batch: how each sample ended, by index), error."""
    reply: dict = {"confinement": None, "result": None, "error": None}
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            reply["error"] = "the run wrote an unreadable result"
            continue
        if not isinstance(message, dict):
            continue
        if "confinement" in message and reply["confinement"] is None:
            reply["confinement"] = message["confinement"]
        elif "result" in message and kind == "call":
            reply["result"] = message["result"]
        elif "item" in message and kind == "batch" and isinstance(message.get("reply"), dict):
            index = message["item"]
            if type(index) is int and 0 <= index < items:
                reply.setdefault("results", {})[index] = message["reply"]
        elif "error" in message:
            reply["error"] = str(message["error"])[:4000]
    if kind == "batch":
        found = reply.pop("results", {})
        reply["results"] = [found.get(index) for index in range(items)]
    return reply



def _report_failure(result_fd: int, exc: BaseException, status: int) -> int:
    """Write why a forked run could not go on as its result line; the exit status it ends with
    (125 when the confinement could not be set up, else ``status``)."""
    if isinstance(exc, ConfinementError):
        _write_all(result_fd, (_dumps({"error": f"{SETUP_FAILED}: {exc}"}) + "\n").encode())
        return 125
    try:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
        _write_all(result_fd, (_dumps({"error": detail}) + "\n").encode())
    except BaseException:  # noqa: BLE001
        pass
    return status


def _call(job: dict, result_fd: int) -> None:
    """Call the job function ``job["target"]`` on ``job["payload"]``; its value goes to ``result_fd``."""
    module_name, _, function_name = job["target"].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    value = function(job.get("payload") or {})
    _write_all(result_fd, (_dumps({"result": value}, ensure_ascii=True) + "\n").encode())


def _watch(item: dict, pid: int, started: float) -> dict:
    """In a batch's process: wait for one sample's process (killed at its timeout); how it ended."""
    timeout = float(item.get("timeout_s") or 0) or None
    pidfd = os.pidfd_open(pid)
    stopped_by = None
    with selectors.DefaultSelector() as selector:
        selector.register(pidfd, selectors.EVENT_READ)
        while True:
            wait = None if timeout is None or stopped_by else started + timeout - time.monotonic()
            if wait is not None and wait <= 0:
                stopped_by = "timeout"
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                _kill(pid)
                continue
            if selector.select(wait):
                break
    os.close(pidfd)
    _, wait_status = os.waitpid(pid, 0)
    ended: dict = {"exit_code": None, "signal": None, "stopped_by": stopped_by}
    if os.WIFEXITED(wait_status):
        ended["exit_code"] = os.WEXITSTATUS(wait_status)
    elif os.WIFSIGNALED(wait_status):
        ended["signal"] = os.WTERMSIG(wait_status)
    return ended


def _remove_tree(path: str) -> bool:
    """Remove a sample's folder as its (unprivileged) owner, giving its folders back their
    permissions first (a sample may have taken them away); whether it is gone."""
    stack = [path]
    while stack:
        folder = stack.pop()
        try:
            os.chmod(folder, 0o700)
            with os.scandir(folder) as entries:
                stack += [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    config = json.loads(sys.argv[1])
    control = os.dup(0)
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.set_blocking(control, False)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for name in config.get("preload") or ():
        importlib.import_module(name)
    server = Server(config, control)
    import gc

    gc.collect()
    gc.freeze()  # what the preloads made is never walked by a run's collections (no copy-on-write of it)
    os.makedirs(server.root, exist_ok=True)
    server.start_zygote()
    _write_all(reply_fd, (json.dumps({"ready": True, "pid": os.getpid()}) + "\n").encode())
    while not server.parent_gone:
        line = server._next_control()
        if line == "":
            with selectors.DefaultSelector() as selector:
                selector.register(control, selectors.EVENT_READ)
                selector.select()
            if server._control_line() is None:
                break
            continue
        if line is None:
            break
        line = line.strip()
        if not line or line == "cancel":
            continue  # a cancel that came after its job ended
        job = json.loads(line)
        try:
            reply = server.run(job)
        except BaseException as exc:  # noqa: BLE001 - the server's own failure, reported
            sweep(server.uid, keep=server.zygote.pid)
            reply = {"error": f"the sandbox server failed: {exc!r}", "stopped_by": "crashed"}
            if isinstance(exc, ZygoteGone):
                break  # no reply: the parent replaces this server
        reply["id"] = job.get("id")
        _write_all(reply_fd, (json.dumps(reply, ensure_ascii=True) + "\n").encode())
        del job, reply, line  # the next run is forked from this process: it must not find this one's result
    sweep(server.uid)
    shutil.rmtree(server.root, ignore_errors=True)


if __name__ == "__main__":
    main()
