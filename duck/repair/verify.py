"""Re-running candidate programs safely: a private copy of the program's folder per run.

``Workspace`` snapshots the program's folder once (a *pristine* copy, so the user may keep
editing while duck searches) and gives each run its own fresh copy of that snapshot, where
the candidate source replaces the program file, so a candidate that deletes or rewrites
files only harms its own copy. ``CandidateRunner`` checks a candidate in two stages:

1. *screening*: the candidate runs **untraced** (``duck.sandbox.program``: forked from a sandbox
   server, given the same argv, environment, stdin, cwd and seed as a fresh interpreter) under
   a short timeout derived from the buggy program's own untraced run, and the oracle judges
   its exit and output (``Oracle.screen``). Most candidates fail here, at the cost of a fork;
   one cut at the timeout goes on to stage 2, whose step cap tells a loop from a slow machine;
2. *confirmation*: a candidate that passed is **recorded** by ``duck.trace.runner.record``
   (its child forked from a sandbox server too, which has the recorder imported) under tight limits (a step cap and a timeout derived from the buggy recording) and judged
   by the full ``Oracle.verify`` on the recording, which also explains the fix later.

Every run (the buggy program's too, screened, recorded or probed) goes through one
``duck.sandbox.Sandbox`` owned by the runner, with one slot per parallel job: it is exec'd
confined, with its fresh copy as the only place it may write (a write elsewhere fails in the
program with PermissionError), an allowlisted environment (no API keys, no user HOME), the
sandbox's resource limits, and its whole process tree (background and double-forked
processes too) killed when it ends. Where a run tried to write outside its copy
(``duck.trace.writewatch``) is collected for the report (``outside_writes_note``). Every run is
bounded by the search's deadline, and ``kill_running``/``cancel`` stop what runs at once (a
deadline, a cancellation, Ctrl-C, or enough fixes found).

This module never writes to the user's folder; it does not invent candidates.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from duck.errors import DuckError
from duck.repair.apply import BACKUP_SUFFIX, TEMP_SUFFIX, SourceFormat, encode_source, read_source
from duck.repair.oracle import Oracle, Verdict
from duck.sandbox import Policy, Run, Sandbox, allowed_env
from duck.session import Session
from duck.trace.limits import Limits
from duck.trace.runner import program_io_encoding

_IGNORED_NAMES = shutil.ignore_patterns(".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "node_modules",
                                        ".mypy_cache", ".pytest_cache", ".tox", ".nox", ".ruff_cache",
                                        f"*{BACKUP_SUFFIX}*", f"*{TEMP_SUFFIX}", "*.pyc")
#: what a virtual environment holds beside its pyvenv.cfg (PEP 405; POSIX and Windows layouts)
_VENV_FOLDERS = {"bin", "lib", "lib64", "include", "Lib", "Scripts", "Include", "share"}


def IGNORED(folder: str, names: list[str]) -> set[str]:
    """What a copy of the program's folder leaves out: version control, caches, duck's own backups, and
    virtual environments, whatever their name (a folder holding ``pyvenv.cfg``; or, when the program's
    folder is itself one, its interpreter and packages). The program still imports from an environment
    where it is (the run keeps the interpreter's ``sys.path``), and the copy is not thousands of files."""
    ignored = set(_IGNORED_NAMES(folder, names))
    if "pyvenv.cfg" in names:
        ignored |= _VENV_FOLDERS.intersection(names)
    for name in names:
        if name not in ignored and os.path.isfile(os.path.join(folder, name, "pyvenv.cfg")):
            ignored.add(name)
    return ignored

#: the user's pytest settings that a run keeps (the sandbox's allowlist has no PYTEST_* variable)
PYTEST_SETTINGS = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
#: the largest file a run may write (a recording's trace included): a backstop against filling the disk
MAX_RUN_FILE_MB = 4096
MAX_COPY_BYTES = 64 * 1024 * 1024
MAX_COPY_FILES = 5000


def _folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) that a copy of ``folder`` (minus ignored paths) would hold; stops early when too big."""
    total = files = 0
    for current, dirs, names in os.walk(folder):
        ignored = IGNORED(current, dirs + names)
        dirs[:] = [d for d in dirs if d not in ignored]
        for name in names:
            if name in ignored:
                continue
            files += 1
            try:
                total += os.lstat(os.path.join(current, name)).st_size
            except OSError:
                pass
            if total > MAX_COPY_BYTES or files > MAX_COPY_FILES:
                return total, files
    return total, files


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


@dataclass
class Workspace:
    """A pristine copy of the program's folder and fresh per-run copies of it."""

    root: Path            # the user's folder that is copied (never written)
    scratch: Path         # duck's temporary folder holding every copy
    pristine: Path        # scratch/pristine: the snapshot
    script: Path          # the program, relative to root
    cwd: Path             # the working directory, relative to root
    source_format: SourceFormat = SourceFormat()   # how the program's file stores its text (kept in every copy)
    _counter: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @classmethod
    def create(cls, script: Path, cwd: Path, scratch: Path) -> "Workspace":
        script, cwd = script.resolve(), cwd.resolve()
        folder = script.parent
        root = folder
        if _inside(folder, cwd) and cwd != Path(cwd.anchor):
            size, files = _folder_size(cwd)
            if size <= MAX_COPY_BYTES and files <= MAX_COPY_FILES:
                root = cwd  # the whole working directory fits: tests and data files come along
        size, files = _folder_size(root)
        if size > MAX_COPY_BYTES or files > MAX_COPY_FILES:
            raise DuckError(f"the program's folder {root} is too big to copy for safe re-runs "
                            f"(over {MAX_COPY_BYTES // 2**20} MiB or {MAX_COPY_FILES} files)",
                            "move the program (and the files it needs) into a smaller folder and run duck fix there")
        pristine = scratch / "pristine"
        shutil.copytree(root, pristine, ignore=IGNORED, symlinks=True)
        relative_cwd = cwd.relative_to(root) if _inside(cwd, root) else Path(".")
        _, source_format = read_source(pristine / script.relative_to(root))
        return cls(root=root, scratch=scratch, pristine=pristine, script=script.relative_to(root), cwd=relative_cwd,
                   source_format=source_format)

    def fresh_copy(self, source: str | None) -> Path:
        """A new copy of the snapshot with ``source`` (when given) as the program's text; returns its root."""
        with self._lock:
            self._counter += 1
            target = self.scratch / f"run-{self._counter}"
        shutil.copytree(self.pristine, target / "root", symlinks=True)
        if source is not None:
            try:
                data = encode_source(source, self.source_format)
            except UnicodeEncodeError:  # a model's text the file's encoding cannot hold (apply_fix refuses it too)
                data = source.replace("\n", self.source_format.newline).encode(self.source_format.encoding,
                                                                               "backslashreplace")
            (target / "root" / self.script).write_bytes(data)
        return target

    def source(self) -> str:
        """The program's text as snapshotted."""
        return read_source(self.pristine / self.script)[0]

    def map_path(self, path: Path, copy_root: Path) -> Path:
        """Where a path of the user's folder lives inside one copy (paths outside stay as they are)."""
        resolved = path.resolve()
        return copy_root / resolved.relative_to(self.root) if _inside(resolved, self.root) else resolved

    def relative(self, path: str, copy_root: Path | None) -> str:
        """A recorded file path as the user would name it (relative to their folder) for comparisons."""
        return _relative(path, str(copy_root if copy_root is not None else self.root))


@functools.lru_cache(maxsize=4096)
def _relative(path: str, base: str) -> str:
    """``path`` relative to ``base`` (as given when outside it); asked for every step that two
    recordings' comparisons look at, so remembered."""
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return path


#: what the sandbox's servers import once, so an untraced run or a recording costs a fork
PRELOAD = ("duck.sandbox.program", "duck.trace.writewatch", "duck.trace.child")
POLL_S = 0.1          # how often a waiting search looks at its deadline and its stop request


@dataclass
class QuickRun:
    """An untraced run: how it ended (an outcome dict like a trace's) and what it printed.

    It has the two attributes oracles read to judge a run without its steps (``outcome``
    and ``stdout``), so ``Oracle.screen`` takes it where ``judge`` takes a ``Session``.
    """

    outcome: dict
    stdout: str
    stderr: str = ""

    @property
    def duration_s(self) -> float:
        return float(self.outcome.get("duration_s") or 0.0)


@dataclass
class RunResult:
    """One checked run in a copy: its verdict, and its recording when it was recorded.

    ``session`` is None for a candidate that the untraced screening already rejected.
    """

    source: str
    session: Session | None
    copy_root: Path | None
    verdict: Verdict | None = None
    quick: QuickRun | None = None

    @property
    def undecided(self) -> bool:
        """Screened only, and cut at the screening's short timeout: a loop or a busy machine,
        which only a recording (and its step cap) can tell apart."""
        return self.session is None and self.quick is not None and self.quick.outcome.get("limit") == "timeout"


def candidate_limits(user: Limits, baseline: Session | None, *, pytest: bool) -> Limits:
    """Limits for a candidate run: a few times the buggy run's steps and time, never more than the user's."""
    if baseline is None:
        return user
    steps = int(baseline.outcome.get("steps") or len(baseline))
    duration = float(baseline.outcome.get("duration_s") or 0.5)
    floor = 4.0 if pytest else 2.0
    return user.replace(
        max_steps=min(user.max_steps, max(20_000, 20 * steps)),
        timeout_s=min(user.timeout_s, max(floor, 5 * duration + 1.0)),
    )


def quick_timeout(user: Limits, buggy: QuickRun) -> float:
    """Wall time for an untraced candidate: a few times the buggy program's own untraced run.

    Short on purpose: a candidate cut here is not rejected but recorded, where the step cap
    decides, so a slow machine costs time, never a fix.
    """
    return min(user.timeout_s, max(0.75, 3 * buggy.duration_s + 0.5))


def sandbox_policy(limits: Limits) -> Policy:
    """The sandbox limits of a search's runs: the user's memory limit; time is the runs' own timeouts."""
    return Policy(memory_mb=limits.max_memory_mb if limits.max_memory_mb and limits.max_memory_mb > 0 else None,
                  cpu_s=None, file_size_mb=MAX_RUN_FILE_MB, disk_mb=2 * MAX_RUN_FILE_MB)


def outside_writes_note(paths: Iterable[str], confined: bool) -> str | None:
    """The report's line about writes the program tried outside its folder (None: there were none)."""
    paths = list(paths)
    if not paths:
        return None
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    how = "refused in the sandbox" if confined else "this system could not confine them, so they happened"
    return f"note: the program tried to write outside its folder: {shown} ({how})"


class CandidateRunner:
    """Runs candidate sources in fresh copies, ``jobs`` at a time, and judges them (see the module docstring).

    It owns a ``duck.sandbox.Sandbox`` (one slot per job): ``close()`` it, or use it as a context manager.
    """

    def __init__(self, workspace: Workspace, request, oracle: Oracle, *, jobs: int | None = None) -> None:
        self.workspace = workspace
        self.request = request          # the verify request (already prepared by the oracle)
        self.oracle = oracle
        self.jobs = jobs or max(1, os.cpu_count() or 1)
        self.baseline: Session | None = None
        self.quick_baseline: QuickRun | None = None   # set: candidates are screened untraced first
        self.quick_timeout_s: float = 1.0
        self.quick_env: dict[str, str] = {}           # duck's settings for candidate runs (pytest without plugins)
        self.deadline: float | None = None             # time.monotonic() after which nothing runs
        self.runs = 0                                  # candidates checked (screened, recorded or both)
        self.recorded = 0                              # candidates recorded
        self.writes_outside: dict[str, None] = {}      # paths runs tried to write outside their copy
        self.confined: bool | None = None              # whether the runs' writes were confined (Landlock)
        # untraced runs are forked from the servers (``duck.sandbox.program``), which run the
        # program's interpreter with its hash seed, as the recorder's child does
        self.sandbox = Sandbox(self.jobs, sandbox_policy(request.limits), preload=PRELOAD, hash_seed=request.seed,
                               python=request.python or sys.executable)
        self._in_flight = 0
        self._lock = threading.Lock()
        self._cancelled = False

    def close(self) -> None:
        """Stop what runs and end the sandbox."""
        self.sandbox.cancel_all()
        self.sandbox.close()

    def __enter__(self) -> "CandidateRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ budget
    def remaining(self) -> float:
        if self._cancelled:
            return 0.0
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def cancel(self) -> None:
        """Start nothing more and stop what runs (a deadline or the user's stop)."""
        with self._lock:
            self._cancelled = True
        self.kill_running()

    def running(self) -> int:
        """How many runs are in the sandbox right now."""
        with self._lock:
            return self._in_flight

    def kill_running(self) -> None:
        """Stop every run in progress now (each ends as stopped)."""
        self.sandbox.cancel_all()

    def _bounded(self, limits: Limits) -> Limits:
        remaining = self.remaining()
        if remaining >= limits.timeout_s:
            return limits
        return limits.replace(timeout_s=max(0.05, remaining))

    # ------------------------------------------------------------------ the sandbox
    def exec(self, argv: list[str], **options) -> Run:
        """``Sandbox.exec`` for this search (the recorder's child): see ``_sandboxed``."""
        return self._sandboxed(self.sandbox.exec, argv, **options)

    def call(self, target: str, payload: dict, **options) -> Run:
        """``Sandbox.call`` for this search (an untraced run in a forked child): see ``_sandboxed``."""
        return self._sandboxed(self.sandbox.call, target, payload, **options)

    def _sandboxed(self, method, *args, **options) -> Run:
        """One sandbox run: refused once the search is cancelled, counted by ``running``."""
        with self._lock:
            if self._cancelled:
                return Run(stopped_by="cancelled")
            self._in_flight += 1
        try:
            run = method(*args, **options)
        finally:
            with self._lock:
                self._in_flight -= 1
        if run.stopped_by == "crashed" or (run.error and run.exit_code in (125, 127)):
            raise DuckError(f"cannot run the program in the sandbox: {run.error or 'the sandbox failed'}",
                            "check that duck's Python still exists")
        if run.confinement is not None:
            self.confined = bool(run.confinement.get("landlock"))
        return run

    def env(self, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a run: the allowlisted part of the request's, the user's pytest
        settings (how a --test oracle runs; no secret), then duck's own settings."""
        source = os.environ if self.request.env is None else self.request.env
        settings = {k: source[k] for k in PYTEST_SETTINGS if k in source}
        env = allowed_env(source, str(home), {**settings, **(extra or {})})
        if self.request.seed is not None:
            env["PYTHONHASHSEED"] = str(self.request.seed)
        env.setdefault("PYTHONIOENCODING", program_io_encoding())
        return env

    def _note_writes(self, paths) -> None:
        with self._lock:
            for path in paths or ():
                self.writes_outside.setdefault(str(path), None)

    # ------------------------------------------------------------------ recorded runs
    def record(self, source: str | None, limits: Limits | None = None, *, fork: bool = True) -> RunResult:
        """Record one run of ``source`` (None: the program as it is) in its own copy: the
        recorder's child is forked from a sandbox server (``fork``, the same trace as a fresh
        interpreter's without its start), else exec'd."""
        from duck.trace.runner import record

        target = self.workspace.fresh_copy(source)
        root = target / "root"
        extra = self.quick_env if source is not None else None  # what the screening showed changes no test's result
        request = self.request.replace(
            env=self.env(target, extra),
            script=root / self.workspace.script,
            cwd=root / self.workspace.cwd,
            include=[str(root)] + [str(self.workspace.map_path(Path(p), root)) for p in self.request.include],
            exclude=[str(self.workspace.map_path(Path(p), root)) for p in self.request.exclude],
            limits=limits or self.request.limits,
            echo=self.request.echo if source is None else False,
        )
        trace_path = target / "run.trace"
        record(request, trace_path, sandbox=self, fork=fork)
        session = Session.load(trace_path)
        self._note_writes(session.outcome.get("writes_outside"))
        if source is not None:
            self.recorded += 1
        text = source if source is not None else self.workspace.source()
        return RunResult(text, session, root)

    def discard(self, result: RunResult) -> None:
        if result.copy_root is not None:
            shutil.rmtree(result.copy_root.parent, ignore_errors=True)

    # ------------------------------------------------------------------ untraced runs
    def run_quick(self, source: str | None, timeout_s: float, extra_env: dict[str, str] | None = None) -> QuickRun:
        """Run ``source`` (None: the program as it is) untraced in a fresh copy; never raises for the program."""
        timeout_s = min(timeout_s, self.remaining())
        if timeout_s <= 0:
            return QuickRun(_stopped_outcome("stopped", 0.0), "")
        target = self.workspace.fresh_copy(source)
        try:
            return self._run_quick_in(target, timeout_s, extra_env or {})
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def _run_quick_in(self, target: Path, timeout_s: float, extra_env: dict[str, str]) -> QuickRun:
        request = self.request
        root = target / "root"
        script = root / self.workspace.script
        cwd = root / self.workspace.cwd
        limits: Limits = request.limits
        stdin_path = None
        if isinstance(request.stdin, str) and request.stdin != "inherit":
            stdin_path = target / "stdin.txt"
            stdin_path.write_text(request.stdin, encoding="utf-8")
        payload = {"script": str(script) if not request.module else None, "module": request.module,
                   "argv0": str(script) if not request.module else request.module, "argv": list(request.argv),
                   "seed": request.seed, "env": self.env(target, extra_env), "watch_writes": [str(target)],
                   "stdin": str(stdin_path) if stdin_path else None, "stdout": str(target / "stdout.txt"),
                   "stderr": str(target / "stderr.txt")}
        run = self.call("duck.sandbox.program:run_main", payload, cwd=cwd, timeout_s=timeout_s, writable=[target])
        duration = run.duration_s
        stdout = _read_text(target / "stdout.txt", limits.max_output_bytes)
        stderr = _read_text(target / "stderr.txt", 20_000)
        status = run.result if isinstance(run.result, dict) else None
        if status is not None:
            self._note_writes(status.get("writes_outside"))
        if run.stopped_by is not None:
            return QuickRun(_stopped_outcome("timeout" if run.timed_out else "stopped", duration), stdout, stderr)
        returncode = run.exit_code if run.exit_code is not None else -(run.signal or 0)
        outcome = {"steps": 0, "exit_code": returncode, "duration_s": round(duration, 3), "exception": None,
                   "limit": None, "message": None}
        if status is None:
            if returncode == 0:
                outcome["outcome"] = "finished"
            else:
                outcome.update(outcome="exited", message=f"the program ended with status {returncode} "
                                                         "before it could say how")
        else:
            returncode = outcome["exit_code"] = status.get("exit_code", returncode)
            end = status.get("end", "finished")
            outcome.update(outcome=end, exception=status.get("exception"), message=status.get("message"))
        return QuickRun(outcome, stdout, stderr)

    def run_probe(self, sources: list[str], calls: list[tuple[str, dict[str, str]]], timeout_s: float,
                  per_call_s: float = 0.25) -> list[list[str]] | None:
        """Call functions of each version of the program on literal arguments, untraced, in one
        sandbox child (``duck.sandbox.program.probe``); one list of results per source, None if it failed."""
        timeout_s = min(timeout_s, self.remaining())
        if timeout_s <= 0 or not calls:
            return None
        target = self.workspace.fresh_copy(None)
        try:
            script = target / "root" / self.workspace.script
            payload = {"script": str(script), "sources": sources, "calls": [list(c) for c in calls],
                       "seed": self.request.seed, "per_call_s": per_call_s, "env": self.env(target, self.quick_env),
                       "watch_writes": [str(target)]}
            run = self.call("duck.sandbox.program:probe", payload, cwd=script.parent, timeout_s=timeout_s,
                            writable=[target])
            answer = run.result
            if run.stopped_by is not None or not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
                return None
            self._note_writes(answer.get("writes_outside"))
            results = answer["results"]
            return results if len(results) == len(sources) else None
        finally:
            shutil.rmtree(target, ignore_errors=True)

    # ------------------------------------------------------------------ checking candidates
    @property
    def screening(self) -> bool:
        """Whether candidates are screened untraced before they are recorded (``_enable_screening``)."""
        return self.quick_baseline is not None

    def screen(self, source: str) -> RunResult:
        """The untraced check of ``source`` alone (screening must be enabled): its verdict passed
        (the candidate is plausible), failed, or ``undecided`` (cut at the short timeout)."""
        self.runs += 1
        quick = self.run_quick(source, self.quick_timeout_s, self.quick_env)
        return RunResult(source, None, None, self.oracle.screen(self.quick_baseline, quick), quick)

    def confirm(self, source: str, limits: Limits, quick: QuickRun | None = None) -> RunResult:
        """Record ``source`` and judge the recording against the baseline (``Oracle.verify``)."""
        if self.remaining() <= 0:
            return RunResult(source, None, None, Verdict(False, "the search ran out of time", self.oracle.name), quick)
        result = self.record(source, self._bounded(limits))
        result.quick = quick
        result.verdict = self.oracle.verify(self.baseline, result.session) if self.baseline is not None \
            else self.oracle.judge(result.session)
        self.discard(result)
        return result

    def verify(self, source: str, limits: Limits, *, screen: bool = True) -> RunResult:
        """Judge ``source`` against the baseline: screened untraced first (when enabled), then recorded."""
        if screen and self.screening:
            screened = self.screen(source)
            if not screened.verdict.passed and not screened.undecided:
                return screened
            # passed, or cut at the short timeout (a loop, or a busy machine): the recording decides,
            # and its step cap stops a loop cheaply
            return self.confirm(source, limits, screened.quick)
        self.runs += 1
        return self.confirm(source, limits)

    def verify_many(self, items: Iterable, check: Callable[[object], RunResult],
                    should_stop: Callable[[], bool]) -> Iterator[tuple[object, RunResult]]:
        """``check`` items in parallel (``jobs`` at a time), yielding (item, result) as each finishes.

        ``should_stop`` is asked while waiting (every ``POLL_S``): once it says so, nothing new
        starts and the candidates still running are stopped.
        """
        iterator = iter(items)
        pending: dict[Future, object] = {}
        stopping = False
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="duck-fix") as pool:
            def fill() -> None:
                while len(pending) < self.jobs and not should_stop():
                    item = next(iterator, None)
                    if item is None:
                        return
                    pending[pool.submit(check, item)] = item

            try:
                fill()
                while pending:
                    done, _ = wait(list(pending), timeout=POLL_S, return_when=FIRST_COMPLETED)
                    for future in done:
                        item = pending.pop(future)
                        yield item, future.result()
                    if not stopping and should_stop():
                        stopping = True
                        self.kill_running()
                    if not stopping:
                        fill()
            except BaseException:  # Ctrl-C, or the caller stopped reading: leave no candidate running
                self.kill_running()
                raise


def _stopped_outcome(why: str, duration: float) -> dict:
    message = {"timeout": "stopped at the candidate's time limit",
               "stopped": "stopped: the search ended (deadline, cancelled, or enough fixes)"}[why]
    return {"outcome": "limit", "limit": why, "steps": 0, "exit_code": None, "duration_s": round(duration, 3),
            "exception": None, "message": message}


def _read_text(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(max(limit, 0) + 1)
    except OSError:
        return ""
    return data[:limit].decode("utf-8", "replace")


def scratch_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="duck-fix-")
