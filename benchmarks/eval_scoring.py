"""Scoring throughput of ``duck-train eval``: all 800 CRUXEval predictions (the ground truth,
so every check runs to the end) scored by execution in duck.sandbox, for -O and -I (the
default literal check: the benchmark's f runs confined, values compared in the evaluator).

Run: ``OMP_NUM_THREADS=1 python benchmarks/eval_scoring.py [--data PATH] [--workers N]``.
Prints samples/s for each mode and the -I/-O time ratio, measured in one run. Not a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from trainer.eval import cruxeval
from trainer.eval.data import load_cruxeval
from trainer.eval.runner import open_eval_sandbox

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cruxeval.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    samples = load_cruxeval(args.data)
    seconds = {}
    with open_eval_sandbox(args.workers) as pool:
        cruxeval.score_predictions(pool, samples[:args.workers], [[s.output] for s in samples[:args.workers]],
                                   "output")  # fork servers started
        for mode, preds in (("output", [s.output for s in samples]), ("input", [s.call for s in samples])):
            start = time.perf_counter()
            correct = cruxeval.score_predictions(pool, samples, [[p] for p in preds], mode)
            seconds[mode] = time.perf_counter() - start
            passed = sum(row[0] for row in correct)
            print(f"CRUXEval-{mode[0].upper()}: {len(samples)} predictions in {seconds[mode]:.2f} s "
                  f"= {len(samples) / seconds[mode]:.0f} samples/s ({args.workers} workers, {passed} correct)")
    print(f"ratio -I/-O time: {seconds['input'] / seconds['output']:.2f}")


if __name__ == "__main__":
    main()
