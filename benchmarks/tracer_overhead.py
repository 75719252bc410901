"""Benchmark: how much slower a program runs under duck's recorder, compared with plain Python and PySnooper.

Five program shapes (tight arithmetic loop, recursion, sorting, string/dict work, objects) are
run interleaved, several times each, and the median is kept:

- in-process: the program's ``main()`` plain, under ``duck.trace.recorder.Recorder`` (events
  formatted as the child formats them, written to /dev/null), and under ``pysnooper.snoop``
  (which also reports every line with the changed variables; ``depth`` deep enough to follow
  every call, output to /dev/null);
- whole-process: ``python prog.py`` versus ``duck.trace.runner.record`` (child interpreter,
  trace file, sources and outcome) versus ``python`` running the program under PySnooper;
- in-process times are this process's CPU time (``time.process_time``), which a busy shared
  machine disturbs less than wall time; whole-process times are wall time;
- bytes per step: the memory the recorder's in-memory store holds per step (tracemalloc, no
  sink) and the trace file's size per step.

Run: ``OMP_NUM_THREADS=1 python benchmarks/tracer_overhead.py [--repeats 5] [--no-pysnooper]``.
This is a measurement script, not a test: it asserts nothing and prints ratios from one run.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from duck.trace.limits import Limits  # noqa: E402
from duck.trace.recorder import FileFilter, Recorder, format_events  # noqa: E402
from duck.trace.runner import RecordRequest, record  # noqa: E402

PROGRAMS = {
    "arith": """
        def main(n=20000):
            total = 0
            for i in range(n):
                total += i * i % 7
            return total
    """,
    "recursion": """
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)

        def main():
            return fib(15)
    """,
    "sorting": """
        def insertion_sort(xs):
            for i in range(1, len(xs)):
                key = xs[i]
                j = i - 1
                while j >= 0 and xs[j] > key:
                    xs[j + 1] = xs[j]
                    j -= 1
                xs[j + 1] = key
            return xs

        def main():
            xs = [(i * 7919) % 211 for i in range(150)]
            return insertion_sort(xs)[:5]
    """,
    "strings": """
        def main():
            text = " ".join("w%d" % (i % 97) for i in range(3000))
            counts = {}
            for word in text.split():
                key = word.upper()
                counts[key] = counts.get(key, 0) + 1
            return len(counts)
    """,
    "objects": """
        class Particle:
            def __init__(self, x, v):
                self.x = x
                self.v = v

            def step(self, dt):
                self.x += self.v * dt
                if self.x > 100:
                    self.v = -self.v

        def main():
            ps = [Particle(i, i % 5 + 1) for i in range(50)]
            for _ in range(40):
                for p in ps:
                    p.step(0.5)
            return round(sum(p.x for p in ps), 3)
    """,
}

MAIN_GUARD = "\n\nif __name__ == '__main__':\n    main()\n"
SNOOP_RUNNER = """
import runpy, sys, pysnooper
ns = runpy.run_path(sys.argv[1], run_name="bench")
with open(__import__("os").devnull, "w") as sink:
    pysnooper.snoop(sink, depth=60)(ns["main"])()
"""


def _load(path: Path) -> dict:
    namespace: dict = {"__name__": "bench"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def time_plain(path: Path) -> float:
    main = _load(path)["main"]
    start = time.process_time()
    main()
    return time.process_time() - start


def time_duck(path: Path) -> tuple[float, int]:
    main = _load(path)["main"]
    devnull = open(os.devnull, "w")
    recorder = Recorder(FileFilter([str(path)], []), Limits(max_steps=10**9),
                        sink=lambda batch, first, out: devnull.write(format_events(batch, first, out)))
    start = time.process_time()
    recorder.start()
    try:
        main()
    finally:
        recorder.stop()
        recorder.flush()
    elapsed = time.process_time() - start
    devnull.close()
    return elapsed, recorder.steps


def time_pysnooper(path: Path) -> float:
    import pysnooper

    main = _load(path)["main"]
    with open(os.devnull, "w") as sink:
        snooped = pysnooper.snoop(sink, depth=60)(main)
        start = time.process_time()
        snooped()
        return time.process_time() - start


def memory_per_step(path: Path) -> float:
    main = _load(path)["main"]
    recorder = Recorder(FileFilter([str(path)], []), Limits(max_steps=10**9))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    recorder.start()
    try:
        main()
    finally:
        recorder.stop()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / max(recorder.steps, 1)


def whole_process(path: Path, mode: str, tmp: Path) -> tuple[float, int]:
    start = time.perf_counter()
    size = 0
    if mode == "plain":
        subprocess.run([sys.executable, str(path)], check=True, stdout=subprocess.DEVNULL)
    elif mode == "duck":
        trace = tmp / (path.stem + ".trace")
        record(RecordRequest(script=path, stdin=None, limits=Limits(max_steps=10**9, timeout_s=600)), trace)
        size = trace.stat().st_size
    else:
        runner = tmp / "snoop_runner.py"
        runner.write_text(SNOOP_RUNNER)
        subprocess.run([sys.executable, str(runner), str(path)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-pysnooper", action="store_true")
    args = parser.parse_args()
    try:
        import pysnooper  # noqa: F401

        snoop = not args.no_pysnooper
    except ImportError:
        snoop = False
    modes = ["plain", "duck"] + (["pysnooper"] if snoop else [])
    with tempfile.TemporaryDirectory(prefix="duck-bench-") as tmp_name:
        tmp = Path(tmp_name)
        paths = {}
        for name, source in PROGRAMS.items():
            path = tmp / f"{name}.py"
            path.write_text(textwrap.dedent(source) + MAIN_GUARD)
            paths[name] = path
        inproc = {(n, m): [] for n in paths for m in modes}
        whole = {(n, m): [] for n in paths for m in modes}
        steps: dict[str, int] = {}
        disk: dict[str, int] = {}
        for _ in range(args.repeats):  # interleaved: every program and mode once per round
            for name, path in paths.items():
                inproc[name, "plain"].append(time_plain(path))
                elapsed, steps[name] = time_duck(path)
                inproc[name, "duck"].append(elapsed)
                if snoop:
                    inproc[name, "pysnooper"].append(time_pysnooper(path))
                for mode in modes:
                    elapsed, size = whole_process(path, mode, tmp)
                    whole[name, mode].append(elapsed)
                    if size:
                        disk[name] = size
        med = {k: statistics.median(v) for k, v in inproc.items()}
        wmed = {k: statistics.median(v) for k, v in whole.items()}
        print(f"python {sys.version.split()[0]}, tracer {Recorder(lambda f: False).tracer}, "
              f"median of {args.repeats} interleaved runs")
        header = f"{'program':10} {'steps':>7} {'in-proc x':>9} {'whole x':>8} {'us/step':>8} {'B/step mem':>10} {'B/step disk':>11}"
        if snoop:
            header += f" {'snoop in x':>10} {'snoop whole x':>13} {'duck faster (in/whole)':>23}"
        print(header)
        ratios_in, ratios_whole, vs_snoop = [], [], []
        for name, path in paths.items():
            r_in = med[name, "duck"] / med[name, "plain"]
            r_whole = wmed[name, "duck"] / wmed[name, "plain"]
            per_step = (med[name, "duck"] - med[name, "plain"]) / steps[name] * 1e6
            mem = memory_per_step(path)
            line = (f"{name:10} {steps[name]:7d} {r_in:9.1f} {r_whole:8.1f} {per_step:8.2f} {mem:10.0f} "
                    f"{disk[name] / steps[name]:11.0f}")
            ratios_in.append(r_in)
            ratios_whole.append(r_whole)
            if snoop:
                s_in = med[name, "pysnooper"] / med[name, "plain"]
                s_whole = wmed[name, "pysnooper"] / wmed[name, "plain"]
                faster_in = med[name, "pysnooper"] / med[name, "duck"]
                faster_whole = wmed[name, "pysnooper"] / wmed[name, "duck"]
                vs_snoop.append(faster_in)
                line += f" {s_in:10.1f} {s_whole:13.1f} {faster_in:11.1f} / {faster_whole:<9.1f}"
            print(line)
        print(f"median program: in-process {statistics.median(ratios_in):.1f}x, "
              f"whole-process {statistics.median(ratios_whole):.1f}x plain"
              + (f", {statistics.median(vs_snoop):.1f}x faster than PySnooper in-process" if snoop else ""))


if __name__ == "__main__":
    main()
