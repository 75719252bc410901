"""Corpus throughput and yield: execute+trace with the worker pool vs one subprocess per sample,
and the yield of every stage on a seed folder (default: this interpreter's whole stdlib).

    OMP_NUM_THREADS=1 python benchmarks/corpus_throughput.py [--samples 200] [--workers 2] [--stdlib-out DIR]

Prints samples/s per core for both approaches and their ratio (measured in this one run), then
each stage's counts from a full `duck-train corpus build`. Not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus.sandbox import SandboxJob, SandboxPool

CODE = "def f(xs):\n    total = 0\n    for x in xs:\n        if x % 2:\n            total += x\n    return total\n"
NAIVE = ("import json, sys\nfrom duck.trace.recorder import record_call\n"
         "r = record_call(sys.argv[1], sys.argv[2])\nprint(json.dumps({'value': r.value, 'events': len(r.events)}))\n")


def naive(jobs: list[SandboxJob], workers: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    def one(job: SandboxJob) -> None:
        subprocess.run([sys.executable, "-c", NAIVE, job.code, job.call], check=True, capture_output=True, timeout=30)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        list(executor.map(one, jobs))
    return time.perf_counter() - started


def pooled(jobs: list[SandboxJob], workers: int) -> float:
    with SandboxPool(workers=workers) as pool:
        pool.run("x = 1")  # workers started and ready
        started = time.perf_counter()
        results = pool.map(jobs)
        elapsed = time.perf_counter() - started
    assert all(r.ok and r.events for r in results)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=Path, nargs="*", default=None, help="seed folders for the yield run (default: stdlib)")
    parser.add_argument("--stdlib-out", type=Path, default=None, help="keep the yield run's corpus here")
    parser.add_argument("--skip-yield", action="store_true")
    args = parser.parse_args()
    jobs = [SandboxJob(CODE, call=f"f({list(range(i % 20))})", trace=True) for i in range(args.samples)]
    pool_s = pooled(jobs, args.workers)
    naive_s = naive(jobs[: max(20, args.samples // 5)], args.workers) * (args.samples / max(20, args.samples // 5))
    per_core = lambda seconds: args.samples / seconds / args.workers  # noqa: E731
    print(f"execute+trace, {args.samples} samples, {args.workers} workers")
    print(f"  pool of long-lived workers : {per_core(pool_s):8.1f} samples/s/core")
    print(f"  one subprocess per sample  : {per_core(naive_s):8.1f} samples/s/core")
    print(f"  ratio pool / naive         : {naive_s / pool_s:8.1f}x")
    if args.skip_yield:
        return
    from corpus import cli

    out = args.stdlib_out or Path(tempfile.mkdtemp(prefix="duck-corpus-"))
    ns = argparse.ArgumentParser()
    cli.configure(ns)
    argv = ["build", "--out", str(out), "--workers", str(args.workers), "--quiet"]
    if args.seeds:
        argv += ["--seeds", *map(str, args.seeds)]
    data = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    for name in ("cruxeval.jsonl", "evalplus/HumanEvalPlus.jsonl.gz", "evalplus/MbppPlus.jsonl.gz"):
        if (data / name).exists():
            argv += ["--benchmark", str(data / name)]
    if "--benchmark" not in argv:
        argv.append("--no-decontaminate")
    started = time.perf_counter()
    cli.main(ns.parse_args(argv))
    print(f"yield run ({time.perf_counter() - started:.0f} s, corpus in {out}):")
    stats = json.loads((out / "stats.json").read_text())
    for stage in cli.STAGES:
        print(f"  {stage:10s} {json.dumps(stats.get(stage, {}), sort_keys=True)}")


if __name__ == "__main__":
    main()
