"""The execute stage: run every candidate call twice in the sandbox, keep the deterministic ones.

Each (code, call) runs once traced by duck's recorder in a pool whose workers have
``PYTHONHASHSEED=0`` and once untraced in a pool with ``PYTHONHASHSEED=1``; a call is kept only
when both runs finish, agree on the result and the output, the result is a Python literal and
the trace is short enough to narrate. Hostile behaviour (refused calls, crashes, timeouts) is
counted, never fatal. This stage does not generate inputs (extract/synthesize) or write
monologues.
"""

from __future__ import annotations

from pathlib import Path

from corpus.sandbox import SandboxJob, SandboxPool
from corpus.shards import StageRun, count, read_jsonl, require_stage, stage_shards

MAX_EVENTS = 400


def execute_records(records: list[dict], traced: SandboxPool, other: SandboxPool, stats: dict,
                    *, timeout_s: float = 3.0, max_events: int = MAX_EVENTS) -> list[dict]:
    jobs, owners = [], []
    for record in records:
        for test in record["tests"]:
            jobs.append(SandboxJob(record["code"], call=test["call"], timeout_s=timeout_s, trace=True))
            owners.append((record["id"], test))
    first = list(traced.imap(jobs))
    second = list(other.imap([SandboxJob(j.code, call=j.call, timeout_s=timeout_s) for j in jobs]))
    runs: dict[str, list[dict]] = {}
    for (key, test), a, b in zip(owners, first, second):
        count(stats, "calls")
        if a.blocked or b.blocked:
            count(stats, "hostile_blocked")
        if a.crashed or b.crashed:
            count(stats, "hostile_crashed")
        if a.timed_out or b.timed_out:
            count(stats, "rejected_timeout")
            continue
        if not (a.ok and b.ok):
            count(stats, "rejected_exception")
            continue
        if a.value_repr != b.value_repr or a.stdout != b.stdout:
            count(stats, "rejected_nondeterministic")
            continue
        if not a.literal:
            count(stats, "rejected_not_literal")
            continue
        if test.get("output") is not None and test["output"] != a.value_repr:
            count(stats, "rejected_output_changed")
            continue
        events = a.events or []
        if not events or len(events) > max_events:
            count(stats, "rejected_trace_length")
            continue
        count(stats, "calls_kept")
        runs.setdefault(key, []).append({"call": test["call"], "output": a.value_repr,
                                         "stdout": a.stdout, "events": events})
    kept = []
    for record in records:
        if record["id"] in runs:
            kept.append({**record, "runs": runs[record["id"]]})
            count(stats, "samples")
        else:
            count(stats, "rejected_samples")
    return kept


def run_execute(out: Path, traced: SandboxPool, other: SandboxPool, *, sources: tuple[str, ...] = ("extract", "synthesize"),
                progress: bool = True) -> dict:
    shards: list[Path] = []
    for source in sources:
        folder = out / source
        if (folder / "manifest.json").exists():
            shards += stage_shards(folder)
    if not shards:
        require_stage(out, "extract")
    chunks = [list(read_jsonl(p)) for p in shards]
    return StageRun(out, "execute", progress).run(
        chunks, lambda chunk, stats: execute_records(chunk, traced, other, stats), unit="samples")
