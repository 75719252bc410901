"""A pool of long-lived, sandboxed Python workers that run untrusted snippets.

``SandboxPool(workers=N, limits=SandboxLimits(...))`` starts N child interpreters
(``corpus._sandbox_worker``), each with address-space, CPU, file-size and process rlimits, a
temporary working directory of its own and destructive calls refused by an audit hook.
``pool.run(code, call=..., check=..., trace=...)`` runs one snippet and returns a
``SandboxResult``; ``pool.map(jobs)`` runs many on all workers. A worker that dies (memory,
segfault, CPU limit) or does not answer in time is killed with its whole process group and
replaced, so the pool always makes progress. The corpus stages and the evaluator use it.

What it is not: a security boundary against code written to break out of a Python process
(see the worker's docstring), and not a recorder (``trace=True`` calls
``duck.trace.recorder.record_call`` inside the worker).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Iterable, Iterator

#: seconds the parent waits beyond a job's own timeout before it kills the worker
GRACE_S = 2.0
#: seconds a freshly started worker may take to import and report ready
STARTUP_S = 30.0


@dataclass(frozen=True)
class SandboxLimits:
    """Per-worker resource limits. ``None`` leaves a limit as the parent has it."""

    memory_mb: int | None = 1024          # RLIMIT_AS
    cpu_s: int | None = 600               # RLIMIT_CPU over the worker's life (backstop)
    recycle_cpu_s: float = 300.0          # a worker retires after this much CPU time
    file_size_mb: int | None = 16         # RLIMIT_FSIZE
    processes: int | None = 0             # RLIMIT_NPROC (not enforced for root; the audit hook is)
    max_output_chars: int = 100_000       # captured stdout+stderr per job
    repr_limit: int = 10_000              # length of value_repr


@dataclass(frozen=True)
class SandboxJob:
    """One snippet to run: ``code`` then, optionally, ``call`` (an expression whose value is
    reported) and ``check`` (statements, e.g. an assertion, whose success is reported)."""

    code: str
    call: str | None = None
    check: str | None = None
    timeout_s: float = 3.0
    trace: bool = False
    stdin: str = ""
    filename: str = "<sample>"
    max_steps: int = 100_000
    coverage: bool = False


@dataclass
class SandboxResult:
    """What one job did.

    ``ok``: the code (and call, and check) ran to the end without an exception.
    ``passed``: ``True`` when a ``check`` ran without raising, ``False`` when it (or the code
    before it) failed, ``None`` when no check was asked for.
    ``literal``: ``value_repr`` is a Python literal that evaluates back to an equal value.
    ``crashed``: the worker died or had to be killed (``timed_out`` says whether for time).
    ``blocked``: the audit events the sandbox refused (hostile or careless code).
    ``arcs``: with ``coverage=True``, the (line, next line) arcs the call and check ran in
    ``code`` (-1 entering a frame, minus the ``def`` line leaving it).
    """

    ok: bool
    value_repr: str | None = None
    exception: dict | None = None
    stdout: str = ""
    timed_out: bool = False
    events: list | None = None
    passed: bool | None = None
    literal: bool = False
    crashed: bool = False
    blocked: list = field(default_factory=list)
    duration_s: float = 0.0
    stdout_truncated: bool = False
    arcs: list | None = None

    @property
    def exception_type(self) -> str | None:
        return self.exception["type"] if self.exception else None

    def to_dict(self) -> dict:
        return asdict(self)


class _Worker:
    """Parent-side handle of one child worker process."""

    def __init__(self, limits: SandboxLimits, hash_seed: int | None, python: str) -> None:
        self.root = tempfile.mkdtemp(prefix="duck-sandbox-")
        config = {
            "root": self.root,
            "memory_mb": limits.memory_mb,
            "cpu_s": limits.cpu_s,
            "file_size_mb": limits.file_size_mb,
            "processes": limits.processes,
            "max_output_chars": limits.max_output_chars,
            "repr_limit": limits.repr_limit,
            "recycle_cpu_s": limits.recycle_cpu_s,
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONHASHSEED", "PYTHONSTARTUP"))}
        env["PYTHONHASHSEED"] = str(hash_seed) if hash_seed is not None else "random"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["OMP_NUM_THREADS"] = "1"
        # the worker imports corpus and duck from the same place as this process
        project_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = project_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [python, "-P", "-u", "-m", "corpus._sandbox_worker", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.root, env=env, start_new_session=True,
        )
        self._buffer = b""
        self.ready = False
        self.jobs = 0

    def _read_line(self, deadline: float) -> dict | None:
        """The next JSON line, or None when the deadline passes or the worker dies."""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return None

    def wait_ready(self) -> bool:
        if not self.ready:
            message = self._read_line(time.monotonic() + STARTUP_S)
            self.ready = bool(message and message.get("ready"))
        return self.ready

    def send(self, job: dict) -> bool:
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class SandboxPool:
    """N long-lived sandboxed workers. Thread-safe: ``run`` may be called from many threads.

    ``hash_seed`` fixes ``PYTHONHASHSEED`` in every worker (the corpus runs samples under two
    seeds to reject non-determinism); ``None`` lets each worker pick a random one.
    """

    def __init__(self, workers: int = 1, limits: SandboxLimits | None = None, *,
                 hash_seed: int | None = 0, python: str | None = None) -> None:
        if workers < 1:
            raise ValueError("a SandboxPool needs at least one worker")
        self.size = workers
        self.limits = limits or SandboxLimits()
        self.hash_seed = hash_seed
        self.python = python or sys.executable
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closed = False
        self.replaced = 0  # workers killed or retired and started afresh
        for _ in range(workers):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        worker = _Worker(self.limits, self.hash_seed, self.python)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            self.replaced += 1
        return self._start()

    def run(self, code: str, *, call: str | None = None, check: str | None = None,
            timeout_s: float = 3.0, trace: bool = False, stdin: str = "",
            filename: str = "<sample>", max_steps: int = 100_000, coverage: bool = False) -> SandboxResult:
        """Run ``code`` (then ``call`` and ``check``) in one worker and report what happened."""
        return self.run_job(SandboxJob(code, call, check, timeout_s, trace, stdin, filename, max_steps, coverage))

    def run_job(self, job: SandboxJob) -> SandboxResult:
        if self._closed:
            raise RuntimeError("the SandboxPool is closed")
        worker = self._idle.get()
        try:
            result, worker = self._run_on(worker, job)
        finally:
            self._idle.put(worker)
        return result

    def _run_on(self, worker: _Worker, job: SandboxJob) -> tuple[SandboxResult, _Worker]:
        for attempt in range(2):
            if worker.wait_ready():
                break
            worker = self._replace(worker)  # it could not even start: try a fresh one
        else:
            return SandboxResult(ok=False, crashed=True, exception={
                "type": "SandboxError", "message": "the sandbox worker failed to start"}), worker
        request = {**asdict(job), "id": next(self._ids)}
        started = time.monotonic()
        reply = None
        if worker.send(request):
            reply = worker._read_line(started + job.timeout_s + GRACE_S)
        if reply is None or reply.get("id") != request["id"]:
            elapsed = time.monotonic() - started
            timed_out = worker.proc.poll() is None and elapsed >= job.timeout_s
            worker = self._replace(worker)
            message = f"ran longer than {job.timeout_s} s" if timed_out else "the worker died (memory, CPU or a crash)"
            return SandboxResult(ok=False, timed_out=timed_out, crashed=True, duration_s=elapsed,
                                 exception={"type": "TimeoutError" if timed_out else "WorkerCrashed",
                                            "message": message}), worker
        if reply.get("retiring") or reply.get("worker_error"):
            worker = self._replace(worker)
        if job.check is not None and reply.get("passed") is None:
            reply["passed"] = False
        fields = SandboxResult.__dataclass_fields__
        return SandboxResult(**{k: v for k, v in reply.items() if k in fields}), worker

    def map(self, jobs: Iterable[SandboxJob | dict]) -> list[SandboxResult]:
        """Run every job on all workers; results in the order of ``jobs``."""
        return list(self.imap(jobs))

    def imap(self, jobs: Iterable[SandboxJob | dict]) -> Iterator[SandboxResult]:
        """Like ``map`` but yields each result (in order) as soon as it and those before it are done."""
        prepared = [job if isinstance(job, SandboxJob) else SandboxJob(**job) for job in jobs]
        with ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="sandbox") as executor:
            yield from executor.map(self.run_job, prepared)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        if not getattr(self, "_closed", True):
            self.close()
