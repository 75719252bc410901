"""Corpus throughput and yield: execute+trace in duck.sandbox (a fresh confined process per
sample, forked from a server that has the recorder imported), with one confinement set-up per
sample and with batches of samples sharing one (``corpus.jobs.BATCH``; each sample still in a
fresh process under a nested Landlock layer), vs one plain subprocess per sample, and the
yield of every stage on a seed folder (default: this interpreter's whole stdlib).

    OMP_NUM_THREADS=1 python benchmarks/corpus_throughput.py [--samples 200] [--workers 2] [--rounds 3] [--stdlib-out DIR]

Prints samples/s (all workers together) for each approach, the rounds interleaved so that a
busy machine slows them alike, and their ratios (measured in this one run), then each stage's
counts from a full `duck-train corpus build`. Not a test. (The figure before the
sandbox, for the README, came from this script at commit 64ad322, whose long-lived worker
pool ran every sample in one reused process.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus.jobs import SampleJob, SampleRunner

CODE = "def f(xs):\n    total = 0\n    for x in xs:\n        if x % 2:\n            total += x\n    return total\n"
NAIVE = ("import json, sys\nfrom duck.trace.recorder import record_call\n"
         "r = record_call(sys.argv[1], sys.argv[2])\nprint(json.dumps({'value': r.value, 'events': len(r.events)}))\n")


def naive(jobs: list[SampleJob], workers: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    def one(job: SampleJob) -> None:
        subprocess.run([sys.executable, "-c", NAIVE, job.code, job.call], check=True, capture_output=True, timeout=30)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        list(executor.map(one, jobs))
    return time.perf_counter() - started


def pooled(jobs: list[SampleJob], workers: int, batch: int) -> float:
    with SampleRunner(workers, batch=batch) as pool:
        pool.map([SampleJob("x = 1")] * workers)  # fork servers started and ready
        started = time.perf_counter()
        results = pool.map(jobs)
        elapsed = time.perf_counter() - started
    assert all(r.ok and r.events for r in results)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each approach (the best is kept)")
    parser.add_argument("--seeds", type=Path, nargs="*", default=None, help="seed folders for the yield run (default: stdlib)")
    parser.add_argument("--stdlib-out", type=Path, default=None, help="keep the yield run's corpus here")
    parser.add_argument("--skip-yield", action="store_true")
    args = parser.parse_args()
    jobs = [SampleJob(CODE, call=f"f({list(range(i % 20))})", trace=True) for i in range(args.samples)]
    from corpus.jobs import BATCH

    one, batched = [], []
    for _ in range(args.rounds):
        one.append(pooled(jobs, args.workers, 1))
        batched.append(pooled(jobs, args.workers, BATCH))
    few = jobs[: max(20, args.samples // 5)]
    naive_s = naive(few, args.workers) * (args.samples / len(few))
    rate = lambda seconds: args.samples / seconds  # noqa: E731
    print(f"execute+trace, {args.samples} samples, {args.workers} workers, best of {args.rounds} interleaved rounds")
    print(f"  sandbox, batches of {BATCH:<3d}       : {rate(min(batched)):8.1f} samples/s  "
          f"(rounds: {', '.join(f'{rate(t):.0f}' for t in batched)})")
    print(f"  sandbox, one set-up per sample : {rate(min(one)):8.1f} samples/s  "
          f"(rounds: {', '.join(f'{rate(t):.0f}' for t in one)})")
    print(f"  one subprocess per sample      : {rate(naive_s):8.1f} samples/s")
    print(f"  ratio batches / one per sample : {min(one) / min(batched):8.2f}x")
    print(f"  ratio batches / subprocess     : {naive_s / min(batched):8.1f}x")
    if args.skip_yield:
        return
    from corpus import cli, jobs as corpus_jobs

    data = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    benchmarks = [data / name for name in ("cruxeval.jsonl", "evalplus/HumanEvalPlus.jsonl.gz",
                                           "evalplus/MbppPlus.jsonl.gz") if (data / name).exists()]
    seconds: dict[int, dict[str, float]] = {}
    for batch in (corpus_jobs.BATCH, 1):  # the whole build, stage by stage, with and without batches
        corpus_jobs.BATCH = batch
        out = args.stdlib_out if args.stdlib_out and batch > 1 else Path(tempfile.mkdtemp(prefix="duck-corpus-"))
        ns = argparse.ArgumentParser()
        cli.configure(ns)
        flags = ["--out", str(out), "--workers", str(args.workers), "--quiet"]
        seconds[batch] = {}
        for stage in ("seeds", "extract", "execute", "monologue", "refine", "dedup", "export"):
            argv = [stage, *flags]
            if stage == "seeds" and args.seeds:
                argv += ["--seeds", *map(str, args.seeds)]
            if stage == "dedup":
                argv += [a for path in benchmarks for a in ("--benchmark", str(path))] or ["--no-decontaminate"]
            started = time.perf_counter()
            cli.main(ns.parse_args(argv))
            seconds[batch][stage] = time.perf_counter() - started
        stats = json.loads((out / "stats.json").read_text())
        total = sum(seconds[batch].values())
        print(f"build, batches of {batch}: {total:.0f} s ({stats['extract'].get('input_runs', 0)} extract runs, "
              f"{stats['execute'].get('calls', 0)} calls executed twice), corpus in {out}")
        print("  " + ", ".join(f"{stage} {t:.1f} s" for stage, t in seconds[batch].items()))
    one, many = seconds[1], seconds[max(seconds)]
    print(f"ratio whole build, batches / one per sample: {sum(one.values()) / sum(many.values()):.2f}x; per stage: "
          + ", ".join(f"{stage} {one[stage] / many[stage]:.2f}x" for stage in many if many[stage] > 0.5))
    print("yield (last build):")
    for stage in cli.STAGES:
        print(f"  {stage:10s} {json.dumps(stats.get(stage, {}), sort_keys=True)}")


if __name__ == "__main__":
    main()
