"""Benchmark: how much slower a program runs under duck's recorder, compared with plain Python and PySnooper.

Five program shapes (tight arithmetic loop, recursion, sorting, string/dict work, objects),
each sized so that the plain run takes a few tenths of a second, are run interleaved (every
program and mode once per round), and the median of the rounds is kept:

- in-process: ``main(n)`` plain versus under ``duck.trace.recorder.Recorder`` with the
  child's sink (events formatted as trace text, written to /dev/null); CPU time of this
  process (``time.process_time``), which a busy shared machine disturbs less than wall time;
- linear scaling: the recorder's cost per step at n/10 and at n (a ratio near 1 means no
  quadratic blow-up, which PySnooper, snoop and hunter show on long loops);
- whole-process: ``python prog.py n`` versus ``duck.trace.runner.record`` (child interpreter,
  trace file, sources and outcome), wall time;
- PySnooper with equivalent information (``pysnooper.snoop(depth=60)``: every line of every
  call with the changed variables, output to /dev/null), in-process, at n/100 because it is
  orders of magnitude slower; "duck faster" compares both at that same size;
- bytes per step: what the in-memory store holds (tracemalloc, no sink; ``sink=None`` keeps
  every event, as ``record_call`` does) and the trace file's size per step.

Run: ``OMP_NUM_THREADS=1 python benchmarks/tracer_overhead.py [--repeats 3] [--scale 1.0]
[--no-pysnooper] [--pure]`` (``--pure`` sets ``DUCK_PURE_PYTHON=1``: the fallback without the
C diff). This is a measurement script, not a test: it asserts nothing and prints ratios from
one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path

if "--pure" in sys.argv:  # before duck.trace is imported: the diff implementation is picked at import
    os.environ["DUCK_PURE_PYTHON"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from duck.trace.limits import Limits  # noqa: E402
from duck.trace.localdiff import IMPLEMENTATION  # noqa: E402
from duck.trace.recorder import FileFilter, Recorder  # noqa: E402
from duck.trace.store import format_events_bytes  # noqa: E402
from duck.trace.runner import RecordRequest, record  # noqa: E402

# name -> (source defining main(n), n for a plain run of a few tenths of a second)
PROGRAMS = {
    "arith": ("""
        def main(n):
            total = 0
            for i in range(n):
                total += i * i % 7
            return total
    """, 5_000_000),
    "recursion": ("""
        def fib(k):
            if k < 2:
                return k
            return fib(k - 1) + fib(k - 2)

        def main(n):
            total = 0
            for _ in range(n // 1000):
                total += fib(12)
            return total
    """, 15_000_000),
    "sorting": ("""
        def insertion_sort(xs):
            for i in range(1, len(xs)):
                key = xs[i]
                j = i - 1
                while j >= 0 and xs[j] > key:
                    xs[j + 1] = xs[j]
                    j -= 1
                xs[j + 1] = key
            return xs

        def main(n):
            out = []
            for r in range(n // 100):
                xs = [(i * 7919 + r) % 211 for i in range(100)]
                out.append(insertion_sort(xs)[0])
            return sum(out)
    """, 250_000),
    "strings": ("""
        def main(n):
            text = " ".join("w%d" % (i % 97) for i in range(n))
            counts = {}
            for word in text.split():
                key = word.upper()
                counts[key] = counts.get(key, 0) + 1
            return len(counts)
    """, 700_000),
    "objects": ("""
        class Particle:
            def __init__(self, x, v):
                self.x = x
                self.v = v

            def step(self, dt):
                self.x += self.v * dt
                if self.x > 100:
                    self.v = -self.v

        def main(n):
            ps = [Particle(i, i % 5 + 1) for i in range(50)]
            for _ in range(n // 50):
                for p in ps:
                    p.step(0.5)
            return round(sum(p.x for p in ps), 3)
    """, 2_500_000),
}

MAIN_GUARD = "\n\nif __name__ == '__main__':\n    import sys\n    main(int(sys.argv[1]))\n"


def _load(path: Path):
    namespace: dict = {"__name__": "bench"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["main"]


def time_plain(path: Path, n: int) -> float:
    main = _load(path)
    start = time.process_time()
    main(n)
    return time.process_time() - start


def time_duck(path: Path, n: int) -> tuple[float, int]:
    main = _load(path)
    devnull = open(os.devnull, "wb")
    recorder = Recorder(FileFilter([str(path)], []), Limits(max_steps=10**10),
                        sink=lambda events, frames, out: devnull.write(format_events_bytes(events, frames, out)))
    start = time.process_time()
    recorder.start()
    try:
        main(n)
    finally:
        recorder.stop()
        recorder.flush()
    elapsed = time.process_time() - start
    devnull.close()
    return elapsed, recorder.steps


def time_pysnooper(path: Path, n: int) -> float:
    import pysnooper

    main = _load(path)
    with open(os.devnull, "w") as sink:
        snooped = pysnooper.snoop(sink, depth=60)(main)
        start = time.process_time()
        snooped(n)
        return time.process_time() - start


def memory_per_step(path: Path, n: int) -> float:
    main = _load(path)
    recorder = Recorder(FileFilter([str(path)], []), Limits(max_steps=10**10))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    recorder.start()
    try:
        main(n)
    finally:
        recorder.stop()
    recorder.flush()  # pack the last run too
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / max(recorder.steps, 1)


def whole_process(path: Path, n: int, mode: str, tmp: Path) -> tuple[float, int]:
    start = time.perf_counter()
    size = 0
    if mode == "plain":
        subprocess.run([sys.executable, str(path), str(n)], check=True, stdout=subprocess.DEVNULL)
    else:
        trace = tmp / (path.stem + ".trace")
        result = record(RecordRequest(script=path, argv=[str(n)], stdin=None,
                                      limits=Limits(max_steps=10**10, timeout_s=3000, max_memory_mb=0)), trace)
        if result.outcome["outcome"] != "finished":
            raise SystemExit(f"{path.name}: the recording ended with {result.outcome}")
        size = trace.stat().st_size
    return time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every program's size")
    parser.add_argument("--no-pysnooper", action="store_true")
    parser.add_argument("--pure", action="store_true", help="DUCK_PURE_PYTHON=1: the pure-Python diff")
    args = parser.parse_args()
    try:
        import pysnooper  # noqa: F401

        snoop = not args.no_pysnooper
    except ImportError:
        snoop = False
    with tempfile.TemporaryDirectory(prefix="duck-bench-") as tmp_name:
        tmp = Path(tmp_name)
        paths, sizes = {}, {}
        for name, (source, n) in PROGRAMS.items():
            path = tmp / f"{name}.py"
            path.write_text(textwrap.dedent(source) + MAIN_GUARD)
            paths[name], sizes[name] = path, max(int(n * args.scale), 100)
        runs: dict[tuple[str, str], list[float]] = {}
        steps: dict[tuple[str, str], int] = {}
        disk: dict[str, int] = {}

        def note(name, mode, value):
            runs.setdefault((name, mode), []).append(value)

        for _ in range(args.repeats):  # interleaved: every program and mode once per round
            for name, path in paths.items():
                n = sizes[name]
                note(name, "plain", time_plain(path, n))
                elapsed, steps[name, "n"] = time_duck(path, n)
                note(name, "duck", elapsed)
                elapsed, steps[name, "n/10"] = time_duck(path, n // 10)
                note(name, "duck/10", elapsed)
                note(name, "plain/10", time_plain(path, n // 10))
                if snoop:
                    note(name, "plain/100", time_plain(path, n // 100))
                    elapsed, steps[name, "n/100"] = time_duck(path, n // 100)
                    note(name, "duck/100", elapsed)
                    note(name, "pysnooper/100", time_pysnooper(path, n // 100))
                elapsed, _ = whole_process(path, n, "plain", tmp)
                note(name, "whole plain", elapsed)
                elapsed, disk[name] = whole_process(path, n, "duck", tmp)
                note(name, "whole duck", elapsed)
        med = {key: statistics.median(values) for key, values in runs.items()}
        print(f"python {sys.version.split()[0]}, tracer {Recorder(lambda f: False).tracer}, diff {IMPLEMENTATION}, "
              f"median of {args.repeats} interleaved rounds")
        header = (f"{'program':10} {'steps':>9} {'plain s':>7} {'in-proc x':>9} {'whole x':>7} {'us/step':>7} "
                  f"{'n/10->n':>7} {'B/step mem':>10} {'B/step disk':>11}")
        if snoop:
            header += f" {'snoop x':>8} {'duck faster':>11}"
        print(header)
        ratios_in, ratios_whole, vs_snoop, linear = [], [], [], []
        for name, path in paths.items():
            r_in = med[name, "duck"] / med[name, "plain"]
            r_whole = med[name, "whole duck"] / med[name, "whole plain"]
            per_step = (med[name, "duck"] - med[name, "plain"]) / steps[name, "n"] * 1e6
            per_step_small = (med[name, "duck/10"] - med[name, "plain/10"]) / steps[name, "n/10"] * 1e6
            growth = per_step / per_step_small
            mem = memory_per_step(path, sizes[name] // 10)
            line = (f"{name:10} {steps[name, 'n']:9d} {med[name, 'plain']:7.3f} {r_in:9.1f} {r_whole:7.1f} "
                    f"{per_step:7.2f} {growth:7.2f} {mem:10.0f} {disk[name] / steps[name, 'n']:11.0f}")
            ratios_in.append(r_in)
            ratios_whole.append(r_whole)
            linear.append(growth)
            if snoop:
                s_in = med[name, "pysnooper/100"] / med[name, "plain/100"]
                faster = med[name, "pysnooper/100"] / med[name, "duck/100"]
                vs_snoop.append(faster)
                line += f" {s_in:8.0f} {faster:11.1f}"
            print(line)
        print(f"median program: in-process {statistics.median(ratios_in):.1f}x, "
              f"whole-process {statistics.median(ratios_whole):.1f}x plain; "
              f"cost per step at n vs n/10: {min(linear):.2f}-{max(linear):.2f}"
              + (f"; {statistics.median(vs_snoop):.1f}x faster than PySnooper (in-process, n/100)" if snoop else ""))


if __name__ == "__main__":
    main()
