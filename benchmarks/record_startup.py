"""Benchmark: the fixed cost of ``duck record``, on a program that does nothing.

``python empty.py`` and ``python -m duck record empty.py -o TRACE --quiet`` are run as whole
processes, interleaved, after one round that is not counted and fills the bytecode cache (kept in
the temporary folder, as an installed duck's is: the environment is ``record_speed.py``'s). It
prints the median wall time of each, and duck's fixed cost (its median minus python's): what
every recording pays before and after the program's own first and last step, two interpreters'
start-up (the parent's and the recording child's) and the parent's finishing of the trace.
``--baseline DIR`` adds another checkout of duck, run in the same rounds, for before/after figures.

Run: ``OMP_NUM_THREADS=1 python benchmarks/record_startup.py [--rounds 21] [--baseline DIR]``.
A measurement script, not a test: it asserts nothing, and on a shared machine only the figures of
one run, side by side, mean anything.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import record_speed  # this folder's: the same environment and runner as the per-program benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--baseline", type=Path, help="another checkout of duck to run as base")
    args = parser.parse_args()
    modes = ["plain", "duck"]
    if args.baseline is not None:
        record_speed.BASELINE = args.baseline.resolve()
        modes.append("base")
    with tempfile.TemporaryDirectory(prefix="duck-startup-") as tmp:
        work = Path(tmp)
        prog = work / "empty.py"
        prog.write_text("")
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for r in range(args.rounds + 1):
            for mode in modes:
                elapsed = record_speed.run_once(*record_speed.commands(mode, prog, work), work)
                if r:  # the first round fills the bytecode cache
                    times[mode].append(elapsed)
        print(f"Python {sys.version.split()[0]}, empty program, {args.rounds} interleaved rounds, whole process, "
              f"median wall time\n")
        print("| mode  |   wall ms | fixed cost ms | ratio to python |")
        print("|-------|-----------|---------------|-----------------|")
        plain = statistics.median(times["plain"])
        for mode in modes:
            wall = statistics.median(times[mode])
            cost = f"{(wall - plain) * 1000:13.1f}" if mode != "plain" else " " * 13
            print(f"| {mode:<5} | {wall * 1000:9.1f} | {cost} | {wall / plain:14.1f}x |")


if __name__ == "__main__":
    main()
