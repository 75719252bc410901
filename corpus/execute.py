"""The execute stage: run every candidate call twice in the sandbox, keep the deterministic ones.

Each (code, call) runs once traced by duck's recorder in a sandbox whose runs have
``PYTHONHASHSEED=0`` and once untraced in one with ``PYTHONHASHSEED=1``, each in a fresh
confined process (``corpus.jobs``); a call is kept only when both runs finish, return equal
values (compared here, as data) and print the same, the value is a plain literal (its text is
``duck.sandbox.values.literal_text``, never the object's own repr) and the trace is short enough
to narrate. Hostile behaviour (crashes, timeouts, processes left behind) is counted, never fatal. This stage does not generate inputs (extract/synthesize) or write
monologues.
"""

from __future__ import annotations

from pathlib import Path

from corpus.jobs import SampleJob, SampleRunner
from corpus.shards import StageRun, count, read_jsonl, require_stage, stage_shards

MAX_EVENTS = 400


def execute_records(records: list[dict], traced: SampleRunner, other: SampleRunner, stats: dict,
                    *, timeout_s: float = 3.0, max_events: int = MAX_EVENTS) -> list[dict]:
    jobs, owners = [], []
    for record in records:
        for test in record["tests"]:
            jobs.append(SampleJob(record["code"], call=test["call"], timeout_s=timeout_s, trace=True))
            owners.append((record["id"], test))
    first = list(traced.imap(jobs))
    second = list(other.imap([SampleJob(j.code, call=j.call, timeout_s=timeout_s) for j in jobs]))
    runs: dict[str, list[dict]] = {}
    for (key, test), a, b in zip(owners, first, second):
        count(stats, "calls")
        if a.strays or b.strays:
            count(stats, "hostile_left_processes")
        if a.crashed or b.crashed:
            count(stats, "hostile_crashed")
        if a.timed_out or b.timed_out:
            count(stats, "rejected_timeout")
            continue
        if not (a.ok and b.ok):
            count(stats, "rejected_exception")
            continue
        if not a.literal:
            count(stats, "rejected_not_literal")
            continue
        if not b.same_value(a.value) or a.stdout != b.stdout:
            count(stats, "rejected_nondeterministic")
            continue
        if test.get("value") is not None and not a.same_value(test["value"]):
            count(stats, "rejected_output_changed")
            continue
        events = a.events or []
        if not events or len(events) > max_events:
            count(stats, "rejected_trace_length")
            continue
        count(stats, "calls_kept")
        runs.setdefault(key, []).append({"call": test["call"], "output": a.text, "value": a.value,
                                         "stdout": a.stdout, "events": events})
    kept = []
    for record in records:
        if record["id"] in runs:
            kept.append({**record, "runs": runs[record["id"]]})
            count(stats, "samples")
        else:
            count(stats, "rejected_samples")
    return kept


def run_execute(out: Path, traced: SampleRunner, other: SampleRunner, *, sources: tuple[str, ...] = ("extract", "synthesize"),
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
