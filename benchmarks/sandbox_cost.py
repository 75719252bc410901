"""Cost of one sandboxed run: a call forked from duck.sandbox's fork server vs a fresh
interpreter exec'd in the same sandbox vs a plain unconfined subprocess.

    OMP_NUM_THREADS=1 python benchmarks/sandbox_cost.py [--runs 200]

Each run does nothing (``run_snippet`` on ``pass``, or ``python -c pass``), so what is printed is
the overhead per run: wall milliseconds, median and mean, measured one run at a time in this
one process. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from duck.sandbox import Policy, Sandbox, allowed_env, landlock_abi


def _timed(runs: int, one) -> list[float]:
    one()  # warm: the server is started and ready
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        one()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    policy = Policy(read_anywhere=False)
    results = {}
    with Sandbox(1, policy, preload=("duck.sandbox.jobs",), require_landlock=landlock_abi() >= 1) as sandbox:
        def forked() -> None:
            run = sandbox.call("duck.sandbox.jobs:run_snippet", {"code": "pass"}, timeout_s=10)
            assert run.result and run.result["ok"], run

        def execed() -> None:
            run = sandbox.exec([sys.executable, "-c", "pass"], cwd="", env=allowed_env(None, "/"), timeout_s=10)
            assert run.exit_code == 0, run

        results["fork server call (duck.sandbox)"] = _timed(args.runs, forked)
        results["fresh interpreter exec (duck.sandbox)"] = _timed(args.runs, execed)
    results["plain subprocess, unconfined"] = _timed(
        args.runs, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    print(f"one empty run, {args.runs} runs each, Landlock ABI {landlock_abi()}")
    base = statistics.median(results["fork server call (duck.sandbox)"])
    for name, times in results.items():
        median = statistics.median(times)
        print(f"  {name:40s} median {median:7.2f} ms  mean {statistics.fmean(times):7.2f} ms  "
              f"({median / base:4.1f}x the fork server)")


if __name__ == "__main__":
    main()
