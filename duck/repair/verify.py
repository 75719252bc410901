"""Re-running candidate programs safely: a private copy of the program's folder per run.

``Workspace`` snapshots the program's folder once (a *pristine* copy, so the user may keep
editing while duck searches) and gives each run its own fresh copy of that snapshot, where
the candidate source replaces the program file. The run is recorded by
``duck.trace.runner.record`` in a child process under tight limits (a step cap and a short
timeout derived from the buggy run), so an infinite loop costs a fraction of a second and a
candidate that deletes or rewrites files only harms its own copy. ``CandidateRunner`` runs
many candidates in parallel (one recording child per core) and judges each with the oracle.

This module never writes to the user's folder; it does not invent candidates.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from duck.errors import DuckError
from duck.repair.oracle import Oracle, Verdict
from duck.session import Session
from duck.trace.limits import Limits

IGNORED = shutil.ignore_patterns(".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "node_modules",
                                 ".mypy_cache", ".pytest_cache", ".tox", ".nox", ".ruff_cache", "*.duck-backup*",
                                 "*.pyc")
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
        return cls(root=root, scratch=scratch, pristine=pristine, script=script.relative_to(root), cwd=relative_cwd)

    def fresh_copy(self, source: str | None) -> Path:
        """A new copy of the snapshot with ``source`` (when given) as the program's text; returns its root."""
        with self._lock:
            self._counter += 1
            target = self.scratch / f"run-{self._counter}"
        shutil.copytree(self.pristine, target / "root", symlinks=True)
        if source is not None:
            (target / "root" / self.script).write_text(source, encoding="utf-8")
        return target

    def map_path(self, path: Path, copy_root: Path) -> Path:
        """Where a path of the user's folder lives inside one copy (paths outside stay as they are)."""
        resolved = path.resolve()
        return copy_root / resolved.relative_to(self.root) if _inside(resolved, self.root) else resolved

    def relative(self, path: str, copy_root: Path | None) -> str:
        """A recorded file path as the user would name it (relative to their folder) for comparisons."""
        base = copy_root if copy_root is not None else self.root
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            return path


@dataclass
class RunResult:
    """One recorded run in a copy: its session (loaded), where it ran, and its verdict."""

    source: str
    session: Session
    copy_root: Path
    verdict: Verdict | None = None


def candidate_limits(user: Limits, baseline: Session | None, *, pytest: bool) -> Limits:
    """Limits for a candidate run: a few times the buggy run's steps and time, never more than the user's."""
    if baseline is None:
        return user
    steps = int(baseline.outcome.get("steps") or len(baseline))
    duration = float(baseline.outcome.get("duration_s") or 0.5)
    floor = 4.0 if pytest else 2.0
    return dataclasses.replace(
        user,
        max_steps=min(user.max_steps, max(20_000, 20 * steps)),
        timeout_s=min(user.timeout_s, max(floor, 5 * duration + 1.0)),
    )


class CandidateRunner:
    """Records runs of candidate sources in fresh copies, ``jobs`` at a time, and judges them."""

    def __init__(self, workspace: Workspace, request, oracle: Oracle, *, jobs: int | None = None) -> None:
        self.workspace = workspace
        self.request = request          # the verify request (already prepared by the oracle)
        self.oracle = oracle
        self.jobs = jobs or max(1, os.cpu_count() or 1)
        self.baseline: Session | None = None
        self.runs = 0

    def record(self, source: str | None, limits: Limits | None = None) -> RunResult:
        """Record one run of ``source`` (None: the program as it is) in its own copy."""
        from duck.trace.runner import record

        target = self.workspace.fresh_copy(source)
        root = target / "root"
        request = dataclasses.replace(
            self.request,
            script=root / self.workspace.script,
            cwd=root / self.workspace.cwd,
            include=[str(root)] + [str(self.workspace.map_path(Path(p), root)) for p in self.request.include],
            exclude=[str(self.workspace.map_path(Path(p), root)) for p in self.request.exclude],
            limits=limits or self.request.limits,
            echo=False,
        )
        trace_path = target / "run.trace"
        record(request, trace_path)
        session = Session.load(trace_path)
        self.runs += 1
        text = source if source is not None else (self.workspace.pristine / self.workspace.script).read_text(encoding="utf-8")
        return RunResult(text, session, root)

    def discard(self, result: RunResult) -> None:
        shutil.rmtree(result.copy_root.parent, ignore_errors=True)

    def verify(self, source: str, limits: Limits) -> RunResult:
        """Record ``source`` and judge it against the baseline; the copy is removed afterwards."""
        result = self.record(source, limits)
        result.verdict = self.oracle.verify(self.baseline, result.session) if self.baseline is not None \
            else self.oracle.judge(result.session)
        self.discard(result)
        return result

    def verify_many(self, items: Iterable, source_of: Callable[[object], str], limits: Limits,
                    should_stop: Callable[[], bool]) -> Iterator[tuple[object, RunResult]]:
        """Verify items in parallel, yielding (item, result) as each finishes; stops submitting when asked."""
        iterator = iter(items)
        pending: dict[Future, object] = {}
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="duck-fix") as pool:
            def fill() -> None:
                while len(pending) < self.jobs and not should_stop():
                    item = next(iterator, None)
                    if item is None:
                        return
                    pending[pool.submit(self.verify, source_of(item), limits)] = item

            fill()
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    yield item, future.result()
                fill()


def scratch_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="duck-fix-")
