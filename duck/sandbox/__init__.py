"""duck's one way to run code that duck did not write: fix candidates, corpus samples, model predictions.

``Sandbox(slots, policy, preload=...)`` keeps ``slots`` fork servers (``duck.sandbox.server``);
each run takes an idle one, which forks a child that confines itself
(``duck.sandbox.confine``: Landlock, rlimits, an unprivileged uid when duck runs as root, an
allowlisted environment) and then

- ``sandbox.call("module:function", payload, timeout_s=...)`` calls one of duck's job functions
  in it (the function runs the untrusted snippet, or a whole program as ``python`` would:
  ``duck.sandbox.program``, and returns JSON data; values travel as type-tagged literals,
  ``duck.sandbox.values``), or
- ``sandbox.call_batch([(target, payload, timeout_s), ...])`` runs many calls with one
  confinement set-up: each still in a fresh process of its own with a folder of its own, which
  adds a nested Landlock layer (``duck.sandbox.server``); ``imap(..., batch=N)`` uses it where
  the kernel scopes signals (Landlock ABI 6), else runs one call per confined child, or
- ``sandbox.exec(argv, cwd=..., stdout=..., ...)`` execs a program (a candidate of ``duck fix``,
  the recorder's child) with the run's folder as the only writable place.

Every run gets a fresh process (nothing leaks between runs), a private folder that is removed
afterwards, and ends with its whole process tree killed. Verdicts are never computed in the
sandbox: callers compare the data they get back in their own process.

``landlock_abi()`` and ``confinement_note()`` say what this machine can confine. This package is
not a recorder and not a verdict: it reports what happened.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from duck.sandbox import landlock as _landlock
from duck.sandbox.policy import Policy, allowed_env
from duck.sandbox.server import SETUP_FAILED  # a batched call whose set-up failed runs again on its own

__all__ = ["Policy", "Run", "Sandbox", "SandboxUnavailable", "allowed_env", "confinement_note", "landlock_abi",
           "scratch_folder"]

#: seconds a fresh server may take to import its preloads and say it is ready
STARTUP_S = 60.0
#: seconds the parent waits beyond a run's own time (and grace) before it gives up on a server
BACKSTOP_S = 10.0
#: seconds a batch may take beyond the sum of its samples' own time limits, per sample
BATCH_SLACK_S = 0.5
#: Landlock ABI from which calls may share a confinement set-up (samples' signals scoped)
BATCH_ABI = 6
#: uids given to sandboxed runs when duck runs as root (one per server, away from real users)
UID_BASE, UID_SPAN = 1_500_000_000, 1 << 24
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def landlock_abi() -> int:
    """The kernel's Landlock ABI (0: none), asked through ``duck.sandbox.landlock`` each time."""
    return _landlock.abi_version()


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot confine here as asked (``str()`` says why)."""


def scratch_folder(prefix: str = "duck-") -> str:
    """A new temporary folder for sandboxed runs' files: private to duck's user, yet searchable
    (mode 0711), so a run that dropped to an unprivileged uid can reach its own folder inside."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o711)
    return path


def confinement_note() -> str | None:
    """One line for the user where writes outside the run's folder cannot be confined, else None."""
    if landlock_abi() >= 1:
        return None
    return ("note: this system has no Landlock (Linux 5.13+), so writes outside the run's folder "
            "cannot be confined here; processes, time and memory still are")


@dataclass
class Run:
    """What one sandboxed run did.

    ``stopped_by``: None (it ended by itself), ``"timeout"``, ``"cancelled"``, ``"disk"`` (its
    folders held more than ``Policy.disk_mb``: killed, or flagged as it ended; no result) or
    ``"crashed"`` (the server itself failed). ``result``: a call's returned data. ``error``: why a call
    produced no result (an exception in the job function, or a sandbox that could not be set
    up). ``confinement``: what was applied (Landlock ABI and rules, uid, rlimits).
    ``strays``: processes the run left behind that were killed when it ended.
    ``results``: a batch's reply per sample (``call_batch`` turns them into runs).
    """

    exit_code: int | None = None
    signal: int | None = None
    stopped_by: str | None = None
    result: object = None
    error: str | None = None
    confinement: dict | None = None
    strays: int = 0
    duration_s: float = 0.0
    results: list | None = None

    @property
    def timed_out(self) -> bool:
        return self.stopped_by == "timeout"

    @classmethod
    def from_reply(cls, reply: dict) -> "Run":
        return cls(**{k: reply[k] for k in cls.__dataclass_fields__ if k in reply})


class _Server:
    """Parent-side handle of one fork server."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.root = scratch_folder("duck-sandbox-")
        self.uid = UID_BASE + secrets.randbelow(UID_SPAN)
        config = {"root": self.root, "policy": sandbox.policy.to_dict(), "preload": list(sandbox.preload),
                  "uid": self.uid, "require_landlock": sandbox.require_landlock}
        env = allowed_env(None, self.root, {"OMP_NUM_THREADS": "1"})
        env["PYTHONHASHSEED"] = str(sandbox.hash_seed) if sandbox.hash_seed is not None else "random"
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sandbox.python, "-u", "-m", "duck.sandbox.server", json.dumps(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=self.root, env=env, start_new_session=True)
        self._buffer = bytearray()
        self.lock = threading.Lock()   # one writer on the server's stdin at a time
        self.busy = False
        self.ready = False

    def read_line(self, deadline: float | None) -> dict | None:
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            scanned = 0
            while (end := self._buffer.find(b"\n", scanned)) < 0:
                scanned = len(self._buffer)  # a large reply arrives in many chunks: scan each byte once
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if not selector.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        try:
            return json.loads(line)
        except ValueError:
            return None

    def wait_ready(self) -> bool:
        if not self.ready:
            message = self.read_line(time.monotonic() + STARTUP_S)
            self.ready = bool(message and message.get("ready"))
        return self.ready

    def send(self, text: str) -> bool:
        with self.lock:
            try:
                self.proc.stdin.write(text.encode() + b"\n")
                self.proc.stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):
                return False

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        _kill_uid(self.uid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)

    def ask_to_end(self) -> None:
        """Close the server's stdin: it kills what runs, sweeps and leaves."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def close(self) -> None:
        """Ask the server to end, wait for it a moment, then make sure it is gone."""
        self.ask_to_end()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


def _kill_uid(uid: int) -> None:
    """As root: kill every process of a sandbox uid (the backstop when a server died hard)."""
    if os.geteuid() != 0:
        return
    from duck.sandbox.server import _processes_of

    for pid in _processes_of(uid):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Sandbox:
    """``slots`` fork servers that run confined jobs; thread-safe (one run per slot at a time).

    ``preload``: modules the servers import once (the job functions' modules and what they
    use). ``hash_seed``: PYTHONHASHSEED of call jobs (exec jobs get theirs from ``env``).
    ``require_landlock``: refuse every run where Landlock is missing (corpus and eval do,
    unless the user passes ``--unsafe-no-sandbox``).
    """

    def __init__(self, slots: int = 1, policy: Policy | None = None, *, preload: tuple[str, ...] = (),
                 hash_seed: int | None = 0, python: str | None = None, require_landlock: bool = False) -> None:
        if slots < 1:
            raise ValueError("a Sandbox needs at least one slot")
        if require_landlock and landlock_abi() < 1:
            raise SandboxUnavailable("this system has no Landlock (Linux 5.13 or later), so untrusted code "
                                     "cannot be confined here")
        self.slots = slots
        self.policy = policy or Policy()
        self.preload = tuple(preload)
        self.hash_seed = hash_seed
        self.python = python or sys.executable
        self.require_landlock = require_landlock
        self._idle: queue.Queue[_Server] = queue.Queue()
        self._all: set[_Server] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closed = False
        self._cancels = 0   # how many times cancel_all was called (a run that started before one is stopped)
        self.restarts = 0
        for _ in range(slots):
            self._idle.put(self._start())

    def _start(self) -> _Server:
        server = _Server(self)
        with self._lock:
            self._all.add(server)
        return server

    def _replace(self, server: _Server) -> _Server:
        server.kill()
        with self._lock:
            self._all.discard(server)
            self.restarts += 1
        return self._start()

    # ------------------------------------------------------------------ running
    def call(self, target: str, payload: dict, *, timeout_s: float, grace_s: float = 0.0,
             cwd: str | Path | None = None, writable: list[str | Path] = (),
             readable: list[str | Path] = ()) -> Run:
        """Call ``target`` ("module:function", one of duck's job functions) on ``payload`` in a
        confined child; its JSON result is ``Run.result``. ``cwd``: where it runs (default: its
        private folder); ``writable``: folders it may write in besides its private one;
        ``readable``: folders it must be able to read (as for ``exec``)."""
        job = {"kind": "call", "target": target, "payload": payload, "timeout_s": timeout_s, "grace_s": grace_s}
        if cwd is not None:
            job["cwd"] = str(cwd)
        if writable:
            job["writable"] = [str(p) for p in writable]
        if readable:
            job["readable"] = [str(p) for p in readable]
        return self._run(job)

    @property
    def batches(self) -> bool:
        """Whether calls may share one confinement set-up here (``call_batch``): only where
        Landlock scopes signals, so a sample cannot signal its batch's process."""
        return landlock_abi() >= BATCH_ABI

    def call_batch(self, calls: list[tuple[str, dict, float]]) -> list[Run]:
        """``call`` for every ``(target, payload, timeout_s)``, one after the other in one confined
        child that forks a fresh, further confined process per call (see the module docstring).
        A call the batch did not reach (its child died, or a sample's folder could not be
        removed) runs on its own afterwards. Where ``batches`` is False, one child per call."""
        calls = list(calls)
        if len(calls) <= 1 or not self.batches:
            return [self.call(t, p, timeout_s=s) for t, p, s in calls]
        items = [{"target": t, "payload": p, "timeout_s": s} for t, p, s in calls]
        # no time limit on the batch when one of its calls has none
        total = sum(float(s) + BATCH_SLACK_S for _, _, s in calls) if all(s for _, _, s in calls) else 0
        cancels = self._cancels
        batch = self._run({"kind": "batch", "items": items, "timeout_s": total, "grace_s": 0.0})
        runs = []
        for (target, payload, timeout_s), reply in zip(calls, batch.results or [None] * len(calls)):
            if isinstance(reply, dict) and not str(reply.get("error") or "").startswith(SETUP_FAILED):
                run = Run.from_reply(reply)
                run.confinement = {**(batch.confinement or {}), **(run.confinement or {})}
            elif batch.stopped_by == "cancelled" or self._cancels != cancels:
                run = Run(stopped_by="cancelled", error="the batch was cancelled before this call ran")
            else:
                run = self.call(target, payload, timeout_s=timeout_s)
            runs.append(run)
        return runs

    def imap(self, calls: Iterable[tuple[str, dict, float]], *, batch: int = 1) -> Iterator[Run]:
        """``call(target, payload, timeout_s=...)`` for every ``(target, payload, timeout_s)``, on
        all slots at once; the runs in the order of ``calls``, each yielded as soon as it and
        those before it are done. ``batch``: at most this many calls share one confinement
        set-up (``call_batch``), fewer when that leaves a slot idle."""
        calls = list(calls)
        size = max(1, min(batch, -(-len(calls) // self.slots))) if self.batches else 1
        if size > 1:
            groups = [calls[k:k + size] for k in range(0, len(calls), size)]
            one_group = self.call_batch
        else:
            groups = [[call] for call in calls]
            one_group = lambda group: [self.call(group[0][0], group[0][1], timeout_s=group[0][2])]  # noqa: E731
        if self.slots == 1 or len(groups) <= 1:
            for group in groups:
                yield from one_group(group)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="sandbox") as executor:
            for runs in executor.map(one_group, groups):
                yield from runs

    def exec(self, argv: list[str], *, cwd: str | Path, env: dict[str, str], timeout_s: float | None,
             stdin: str | Path | None = None, stdout: str | Path | None = None, stderr: str | Path | None = None,
             writable: list[str | Path] = (), readable: list[str | Path] = (), grace_s: float = 2.0) -> Run:
        """Exec ``argv`` (``argv[0]``: an absolute path) confined, in ``cwd``, with ``env`` exactly
        (build it with ``allowed_env``). ``writable``: the folders it may write in (``cwd`` is
        not writable unless it lies inside one); ``stdout``/``stderr``: files it writes to."""
        paths = lambda items: [str(p) for p in items]  # noqa: E731
        return self._run({"kind": "exec", "argv": [str(a) for a in argv], "cwd": str(cwd), "env": dict(env),
                          "stdin": str(stdin) if stdin else None, "stdout": str(stdout) if stdout else None,
                          "stderr": str(stderr) if stderr else None, "writable": paths(writable),
                          "readable": paths(readable), "python": str(argv[0]),
                          "timeout_s": timeout_s or 0, "grace_s": grace_s})

    def _run(self, job: dict) -> Run:
        if self._closed:
            raise RuntimeError("the Sandbox is closed")
        cancels = self._cancels
        server = self._idle.get()
        try:
            run, server = self._run_on(server, job, cancels)
        finally:
            self._idle.put(server)
        return run

    def _run_on(self, server: _Server, job: dict, cancels: int) -> tuple[Run, _Server]:
        for _ in range(2):
            if server.wait_ready():
                break
            server = self._replace(server)
        else:
            return Run(stopped_by="crashed", error="the sandbox server failed to start"), server
        job = {**job, "id": next(self._ids)}
        server.busy = True
        try:
            if not server.send(json.dumps(job)):
                return Run(stopped_by="crashed", error="the sandbox server went away"), self._replace(server)
            if self._cancels != cancels:  # cancel_all came while this run was being handed over
                server.send("cancel")
            budget = float(job.get("timeout_s") or 0)
            deadline = time.monotonic() + budget + float(job.get("grace_s") or 0) + BACKSTOP_S if budget else None
            reply = server.read_line(deadline)
        except BaseException:
            # Ctrl-C or the caller stopped: leave nothing running
            self._cancel(server)
            server.read_line(time.monotonic() + float(job.get("grace_s") or 0) + BACKSTOP_S)
            raise
        finally:
            server.busy = False
        if reply is None or reply.get("id") != job["id"]:
            return Run(stopped_by="crashed", error="the sandbox server stopped answering"), self._replace(server)
        return Run.from_reply(reply), server

    @staticmethod
    def _cancel(server: _Server) -> None:
        if server.busy:
            server.send("cancel")

    def cancel_all(self) -> None:
        """Stop every run in progress now (each returns with ``stopped_by="cancelled"``), also one
        that is being handed to its server at this moment."""
        with self._lock:
            self._cancels += 1
            servers = list(self._all)
        for server in servers:
            self._cancel(server)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            servers = list(self._all)
            self._all.clear()
        for server in servers:  # every server is asked first, so they end at the same time
            server.ask_to_end()
        for server in servers:
            server.close()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        if not getattr(self, "_closed", True):
            self.close()
