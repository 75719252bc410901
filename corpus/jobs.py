"""How the corpus stages run samples: in ``duck.sandbox``, one fresh confined process per sample.

``SampleRunner(slots, hash_seed=...)`` keeps a ``duck.sandbox.Sandbox`` whose fork servers
have the recorder and the pure standard modules imported once; ``runner.map(jobs)`` runs
``SampleJob``s on all slots and gives back ``Outcome``s in order, up to ``BATCH`` samples per
confinement set-up (``Sandbox.call_batch``: each sample still in a fresh process and folder of
its own, under a nested Landlock layer). A plain job runs
``duck.sandbox.jobs:run_snippet``; a traced one runs ``record_run`` (below) in the child, which
records the call with ``duck.trace.recorder.record_call`` and returns the events and the
returned value as a type-tagged tree. Values come back as data, never as reprs: the stages
compare them in this process (``Outcome.same_value``) and write them with
``duck.sandbox.values.literal_text`` only when they are plain literals (``Outcome.text``), so
an object whose ``__repr__`` lies is never exported as an answer.

``open_sandbox`` is the one place where corpus and eval commands make their sandbox: it refuses
where Landlock is missing unless the user passed ``--unsafe-no-sandbox``. This module has no
verdicts of its own and no process management (``duck.sandbox`` does that).
"""

from __future__ import annotations

import io
import math
import random
import sys
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

from duck.errors import DuckError
from duck.sandbox import Policy, Run, Sandbox, SandboxUnavailable
from duck.sandbox.values import decode, encode, is_literal, literal_text, same

#: job functions run in the sandbox child
SNIPPET_JOB = "duck.sandbox.jobs:run_snippet"
TRACE_JOB = "corpus.jobs:record_run"
#: imported once per fork server: the job functions, the recorder and the pure modules samples use
PRELOAD = ("duck.sandbox.jobs", "corpus.jobs", "duck.trace.recorder", "math", "re", "itertools", "collections",
           "functools", "string", "heapq", "bisect", "operator", "fractions", "decimal", "statistics", "textwrap",
           "unicodedata")
#: what a corpus sample may use: 1 GB, no network, reads only of the system's and the interpreter's files
#: samples that share one confinement set-up in ``map``/``imap`` (where the kernel allows it)
BATCH = 16
POLICY = Policy(memory_mb=1024, cpu_s=60, file_size_mb=16, processes=16, read_anywhere=False)
UNSAFE_HINT = ("run it on Linux 5.13 or later with Landlock enabled (see /sys/kernel/security/lsm), or pass "
               "--unsafe-no-sandbox to run the code with only rlimits and a private folder, at your own risk")


def open_sandbox(slots: int, *, policy: Policy = POLICY, preload: tuple[str, ...] = PRELOAD,
                 hash_seed: int | None = 0, unsafe: bool = False) -> Sandbox:
    """The sandbox of a corpus or eval command; a ``DuckError`` where it cannot confine and
    ``unsafe`` (``--unsafe-no-sandbox``) was not given."""
    try:
        return Sandbox(slots, policy, preload=preload, hash_seed=hash_seed, require_landlock=not unsafe)
    except SandboxUnavailable as error:
        raise DuckError(f"{error}; refusing to run code that duck did not write", UNSAFE_HINT) from None


@dataclass(frozen=True)
class SampleJob:
    """One sample to run: ``code`` then ``call`` (an expression whose value is reported).

    ``trace``: record the call (events). ``coverage``: collect the arcs it ran."""

    code: str
    call: str | None = None
    timeout_s: float = 3.0
    trace: bool = False
    coverage: bool = False
    filename: str = "<sample>"
    max_steps: int = 100_000
    stdin: str = ""

    def target(self) -> str:
        return TRACE_JOB if self.trace else SNIPPET_JOB

    def payload(self) -> dict:
        return {"code": self.code, "call": self.call, "filename": self.filename, "coverage": self.coverage,
                "stdin": self.stdin, "timeout_s": self.timeout_s, "max_steps": self.max_steps}


@dataclass
class Outcome:
    """What one sample did, as data.

    ``ok``: the code and the call ran to the end. ``value``: the call's value as a type-tagged
    tree (``duck.sandbox.values``). ``crashed``: the run died or could not be set up
    (``timed_out`` says whether for time). ``strays``: processes it left that were killed.
    """

    ok: bool
    value: list | None = None
    exception: dict | None = None
    stdout: str = ""
    stdout_truncated: bool = False
    timed_out: bool = False
    crashed: bool = False
    events: list | None = None
    arcs: list | None = None
    strays: int = 0
    duration_s: float = 0.0

    @property
    def exception_type(self) -> str | None:
        return self.exception["type"] if self.exception else None

    @property
    def literal(self) -> bool:
        """The value is a plain literal that an ``assert call == <text>`` states truly (no
        opaque object anywhere, no NaN, which equals nothing)."""
        return self.ok and self.value is not None and is_literal(self.value) and not _has_nan(decode(self.value))

    @property
    def text(self) -> str | None:
        """The value as Python source, for rows and prompts; None unless ``literal``."""
        return literal_text(self.value) if self.literal else None

    def same_value(self, tree: list | None) -> bool:
        """Whether this run returned a literal equal (types included) to the value tree ``tree``."""
        if not self.literal or tree is None or not is_literal(tree):
            return False
        return same(decode(tree), decode(self.value))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_run(cls, run: Run) -> "Outcome":
        data = run.result if isinstance(run.result, dict) else None
        if data is None:
            timed_out = run.stopped_by == "timeout"
            message = ("ran out of time" if timed_out else run.error
                       or f"the run died ({'signal ' + str(run.signal) if run.signal else 'exit ' + str(run.exit_code)})")
            return cls(ok=False, timed_out=timed_out, crashed=True, strays=run.strays, duration_s=run.duration_s,
                       exception={"type": "TimeoutError" if timed_out else "SandboxError", "message": message})
        return cls(ok=bool(data.get("ok")) and data.get("exception") is None, value=data.get("value"),
                   exception=data.get("exception"), stdout=str(data.get("stdout") or ""),
                   stdout_truncated=bool(data.get("stdout_truncated")), timed_out=bool(data.get("timed_out")),
                   events=data.get("events"), arcs=data.get("arcs"), strays=run.strays, duration_s=run.duration_s)


def _has_nan(value) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, complex):
        return math.isnan(value.real) or math.isnan(value.imag)
    if isinstance(value, dict):
        return any(_has_nan(k) or _has_nan(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_nan(v) for v in value)
    return False


class SampleRunner:
    """Runs ``SampleJob``s in a sandbox of ``slots`` fork servers (thread-safe)."""

    def __init__(self, slots: int = 1, *, hash_seed: int | None = 0, unsafe: bool = False,
                 sandbox: Sandbox | None = None, batch: int | None = None) -> None:
        """``sandbox``: run in this one (whose preloads include this module) instead of a new one.
        ``batch``: samples per confinement set-up in ``imap`` (default ``BATCH``; 1: a confined
        child per sample)."""
        if slots < 1:
            raise ValueError("a SampleRunner needs at least one slot")
        self.batch = BATCH if batch is None else batch
        self.sandbox = sandbox or open_sandbox(slots, hash_seed=hash_seed, unsafe=unsafe)
        self.size = self.sandbox.slots
        self.hash_seed = self.sandbox.hash_seed

    def run(self, job: SampleJob) -> Outcome:
        return Outcome.from_run(self.sandbox.call(job.target(), job.payload(), timeout_s=job.timeout_s))

    def imap(self, jobs: Iterable[SampleJob]) -> Iterator[Outcome]:
        """Every job on all slots; outcomes in the order of ``jobs``, each as soon as it and those before it are done."""
        for run in self.sandbox.imap(((job.target(), job.payload(), job.timeout_s) for job in jobs), batch=self.batch):
            yield Outcome.from_run(run)

    def map(self, jobs: Iterable[SampleJob]) -> list[Outcome]:
        return list(self.imap(jobs))

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> "SampleRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- in the sandbox child
def record_run(payload: dict) -> dict:
    """The traced job (runs in a confined child): record ``code`` + ``call`` with duck's recorder;
    returns the events, the value as a tree, the exception, what was printed, and whether the
    recorder's own limits stopped it. ``payload["args"]`` (value trees) may stand for the
    arguments of the function named by ``call``, as in ``run_snippet``."""
    from duck.sandbox.jobs import _BoundedText
    from duck.trace.limits import Limits
    from duck.trace.recorder import record_call

    out = _BoundedText(int(payload.get("max_output_chars") or 100_000))
    random.seed(payload.get("seed", 0))
    sys.stdout = sys.stderr = out
    sys.stdin = io.StringIO(payload.get("stdin") or "")
    call = payload.get("call") or "None"
    extra = None
    if payload.get("args") is not None:
        extra = {"__duck_args__": [decode(tree) for tree in payload["args"]]}
        call = f"({call})(*__duck_args__)"
    limits = Limits(max_steps=int(payload.get("max_steps") or 100_000),
                    repr_limit=int(payload.get("repr_limit") or 200))
    try:
        recording = record_call(payload["code"], call, filename=payload.get("filename") or "<sample>", limits=limits,
                                extra_globals=extra)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    exception = None
    if recording.exception:
        kind, message = (recording.exception.get("type"), recording.exception.get("message", "")) \
            if isinstance(recording.exception, dict) else (recording.exception[0], recording.exception[1])
        exception = {"type": str(kind), "message": str(message)}
    stopped = recording.stopped_by
    return {"ok": exception is None and stopped is None,
            "value": None if exception or stopped else encode(recording.result),
            "exception": exception or ({"type": "TimeoutError", "message": f"stopped by the recorder: {stopped}"}
                                       if stopped else None),
            "timed_out": stopped == "timeout",
            "stdout": out.getvalue() + (recording.stdout or ""), "stdout_truncated": out.truncated,
            "events": list(recording.events)}
