"""Trace format v1 (JSON Lines) against v2 (binary columns): recording, size, opening, memory.

For one generated program of about ``--steps`` steps (a loop calling a small function, with
output now and then), measured in one run, each in a fresh process:

* ``duck record`` time writing v2 (the default) and v1 (``--format jsonl``);
* the trace's size on disk per step;
* ``Session.load`` plus the first screen's queries (what the TUI waits for), then the rest of
  the indexes (what its worker builds meanwhile), and the resident memory after each, per step;
* with ``--tui``: ``duck replay`` of each file until the status bar is painted, against
  ``duck replay`` of a one-step trace (the TUI's own start-up); ``duck run`` of the program until
  its first screen, against ``duck record`` of it; and the resident memory of the ``duck replay``
  process of the v2 trace once its worker has indexed it all (now and at its peak, ``VmHWM``),
  above that of a ~20,000-step trace's (whose replay loads numpy too), per step. With ``--baseline`` these are also timed with
  the other checkout, in the same run.

Then, for that program and three others with other shapes (``recursion``: a frame per call,
tens of thousands of frames; ``calls``: many small calls in nested loops; ``generators``:
generators, nested loops with ``break``/``continue``, ``while``, caught exceptions, ``del``),
the v2 trace's ``Session.load`` plus the first screen's queries and then ``index_all``, timed
in one process each, and the session's own memory per step after each (tracemalloc, in a
separate process, numpy imported before counting so its modules are not counted).
``--baseline DIR`` times another checkout of duck (e.g. the branch point, in a git worktree)
on the same traces in the same run, for before/after figures.

Targets (issue 13): v2 <= 16 bytes/step on disk; a session <= 32 bytes/step in memory (in the
TUI's process); ``duck replay`` of 1M steps within 0.5 s of the TUI's start-up with an empty
trace; ``duck run`` of it on screen within 1.5x the time ``duck record`` takes.

Usage: OMP_NUM_THREADS=1 python benchmarks/trace_open.py [--steps 1000000] [--tui] [--baseline DIR]
[--only-index] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = '''
def step(i, acc):
    square = i * i
    if square % 7 == 3:
        acc.append(square % 1000)
    return square % 13


total = 0
seen = []
for i in range({iterations}):
    total += step(i, seen)
    if i % 5000 == 0:
        print(i, total, len(seen))
print(total)
'''

SHAPES = {
    "recursion": '''
def fib(n):
    if n < 2:
        return n
    left = fib(n - 1)
    right = fib(n - 2)
    return left + right


for k in range({repeat}):
    print(fib(16))
''',
    "calls": '''
def add(a, b):
    c = a + b
    return c


def mul(a, b):
    r = 0
    for _ in range(b):
        r = add(r, a)
    return r


total = 0
for i in range({iterations}):
    total += mul(i, 3)
print(total)
''',
    "generators": '''
def squares(n):
    i = 0
    while i < n:
        yield i * i
        i += 1


def pairs(n):
    for a in range(n):
        for b in range(a):
            if (a + b) % 3 == 0:
                continue
            if b > 40:
                break
            yield a, b


s = 0
for x in squares({iterations}):
    s += x
count = 0
for p in pairs({iterations} // 100):
    count += 1
    scratch = p
    del scratch
n = 0
while n < {iterations} // 4:
    n += 1
    try:
        if n % 100 == 0:
            raise ValueError(n)
    except ValueError as exc:
        last = exc
print(s, count)
''',
}

INDEX = '''
import json, sys, time
import numpy  # imported first: neither its import time nor its modules' memory is the session's
from duck.session import Session
trace, traced = sys.argv[1], sys.argv[2] == "memory"
if traced:
    import tracemalloc
    tracemalloc.start()
start = time.perf_counter()
session = Session.load(trace)
first = session.stack(0), session.locals_at(0)
load_s = time.perf_counter() - start
loaded = tracemalloc.get_traced_memory()[0] if traced else 0
start = time.perf_counter()
session.index_all()
index_s = time.perf_counter() - start
indexed = tracemalloc.get_traced_memory()[0] if traced else 0
print(json.dumps({"steps": len(session), "load_s": load_s, "index_s": index_s, "loaded": loaded, "indexed": indexed}))
'''

LOAD = '''
import json, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
from duck.session import Session
before = rss()
start = time.perf_counter()
session = Session.load(sys.argv[1])
first = session.stack(0), session.locals_at(0)
elapsed = time.perf_counter() - start
opened = rss() - before
start = time.perf_counter()
session.index_all()
indexing = time.perf_counter() - start
import resource
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"steps": len(session), "load_s": elapsed, "rss": opened, "index_s": indexing,
                  "rss_indexed": rss() - before, "peak": peak - before}))
'''


def record(program: Path, trace: Path, *extra: str, checkout: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "duck", "record", str(program), "-o", str(trace), "--quiet",
                    "--max-steps", "100000000", "--timeout", "3600", *extra],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(checkout)}, cwd=checkout)
    return time.perf_counter() - start


def load(trace: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", LOAD, str(trace)], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    return json.loads(out.stdout)


def index(trace: Path, checkout: Path, memory: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-c", INDEX, str(trace), "memory" if memory else "time"],
                         check=True, capture_output=True, text=True, env=env, cwd=checkout)
    return json.loads(out.stdout)


def index_table(folder: Path, loop_trace: Path, steps: int, baseline: Path | None) -> None:
    """Load and index time, and memory per step, for the loop and the other shapes."""
    traces = {"loop": loop_trace}
    for name, text in SHAPES.items():
        program = folder / f"{name}.py"
        program.write_text(text.format(iterations=max(steps // 26, 1), repeat=max(steps // 20000, 1)))
        traces[name] = folder / f"{name}.v2.trace"
        record(program, traces[name])
    checkouts = [("now", ROOT)] + ([("before", baseline)] if baseline else [])
    print()
    print(f"{'v2 trace':12}{'steps':>10}{'':8}{'open, s':>9}{'index, s':>10}{'B/step open':>13}{'B/step indexed':>16}")
    for name, trace in traces.items():
        for label, checkout in checkouts:
            timed, counted = index(trace, checkout, False), index(trace, checkout, True)
            n = timed["steps"]
            print(f"{name:12}{n:>10,}{label:>8}{timed['load_s']:9.2f}{timed['index_s']:10.2f}"
                  f"{counted['loaded'] / n:13.1f}{counted['indexed'] / n:16.1f}")


def _terminal(checkout: Path, argv: list[str]):
    """``python -m duck ARGV`` of ``checkout`` in a pseudo-terminal (the tests' pty driver)."""
    sys.path.insert(0, str(ROOT))
    from tests.duck.tui.test_terminal import Terminal

    saved, cwd = os.environ.get("PYTHONPATH"), os.getcwd()
    os.environ["PYTHONPATH"] = str(checkout)
    os.chdir(checkout)  # `-m duck` finds the package in the working directory first
    try:
        return Terminal([sys.executable, "-m", "duck", *argv])
    finally:
        os.chdir(cwd)
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes, and its CPU time in clock ticks."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["cpu"] = int(fields[11]) + int(fields[12])
    return out


def first_paint(trace: Path, checkout: Path = ROOT, argv: tuple[str, ...] = (), memory: bool = False) -> dict:
    """Seconds from ``duck replay TRACE`` (or ``duck ARGV``) to its status bar on screen; with
    ``memory``, then the process's resident memory once it has gone idle (its worker has indexed
    the whole trace): ``rss`` and ``peak``."""
    start = time.perf_counter()
    term = _terminal(checkout, list(argv) or ["replay", str(trace)])
    term.read_until(b"step 1 of", timeout=600)
    result = {"paint_s": time.perf_counter() - start}
    if memory:
        last, idle_since = _proc_status(term.pid), time.monotonic()
        while time.monotonic() - idle_since < 1.5:  # no CPU used for 1.5 s: indexing is done
            time.sleep(0.25)
            now = _proc_status(term.pid)
            if now["cpu"] != last["cpu"]:
                idle_since = time.monotonic()
            last = now
        result.update(rss=last["VmRSS"], peak=last["VmHWM"])
    term.send("q")
    term.wait()
    return result


def tui_rows(folder: Path, program: Path, v1: Path, v2: Path, empty: Path, steps: int,
             baseline: Path | None, repeat: int) -> None:
    """The TUI's first screens and its memory, for this checkout and the baseline one (times: the
    median of ``repeat`` tries, the checkouts taking turns; memory: the first try)."""
    checkouts = [("now", ROOT)] + ([("before", baseline)] if baseline else [])
    run = ["run", str(program), "--max-steps", "100000000", "--timeout", "3600"]
    # the memory baseline: a replay of a trace just long enough (~20,000 steps) to load numpy too, as
    # the long trace's does (a trace of up to 16,384 steps never imports it): numpy is no session's
    small_program = folder / "small.py"
    small_program.write_text(PROGRAM.format(iterations=2500))
    small = folder / "small.v2.trace"
    record(small_program, small)
    tries: dict[str, list[dict]] = {label: [] for label, _ in checkouts}
    for attempt in range(repeat):
        for label, checkout in checkouts:
            memory = attempt == 0
            tries[label].append({
                "small": first_paint(small, checkout, memory=True) if memory else None,
                "base": first_paint(empty, checkout), "v2": first_paint(v2, checkout, memory=memory),
                "v1": first_paint(v1, checkout)["paint_s"] if attempt == 0 else float("nan"),
                "record": record(program, folder / "again.v2.trace", checkout=checkout),
                "run": first_paint(v2, checkout, tuple(run))["paint_s"]})
    print()
    print(f"{'TUI (pty), median of ' + str(repeat):34}" + "".join(f"{label:>12}" for label, _ in checkouts))
    rows: dict[str, list[float]] = {}
    for label, _ in checkouts:
        got = tries[label]

        def median(pick) -> float:
            return statistics.median(pick(t) for t in got)

        first = got[0]
        for name, value in (
                ("replay empty trace, s", median(lambda t: t["base"]["paint_s"])),
                ("replay v2, s", median(lambda t: t["v2"]["paint_s"])),
                ("  minus empty replay, s (<= 0.5)", median(lambda t: t["v2"]["paint_s"] - t["base"]["paint_s"])),
                ("replay v1 (one try), s", first["v1"]),
                ("duck record, s", median(lambda t: t["record"])),
                ("duck run -> first screen, s", median(lambda t: t["run"])),
                ("  / duck record (<= 1.5)", median(lambda t: t["run"] / t["record"])),
                ("RSS indexed, B/step (<= 32)", (first["v2"]["rss"] - first["small"]["rss"]) / steps),
                ("peak RSS, B/step", (first["v2"]["peak"] - first["small"]["peak"]) / steps)):
            rows.setdefault(name, []).append(value)
    for name, values in rows.items():
        print(f"{name:34}" + "".join(f"{value:12.2f}" for value in values))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--tui", action="store_true", help="also time duck replay's first screen in a pty")
    parser.add_argument("--keep", metavar="DIR", help="write the program and traces here (kept)")
    parser.add_argument("--baseline", type=Path, help="another checkout of duck whose session is timed beside this one")
    parser.add_argument("--only-index", action="store_true", help="only the indexing table (no v1, no TUI)")
    parser.add_argument("--repeat", type=int, default=3, help="tries of each TUI timing (the median is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        program = folder / "loop.py"
        program.write_text(PROGRAM.format(iterations=max(args.steps // 6, 1)))
        tiny = folder / "tiny.py"
        tiny.write_text("x = 1\n")
        v2, v1, empty = folder / "loop.v2.trace", folder / "loop.v1.trace", folder / "tiny.trace"
        rec2 = record(program, v2)
        if args.only_index:
            return index_table(folder, v2, args.steps, args.baseline)
        rec1 = record(program, v1, "--format", "jsonl")
        record(tiny, empty)
        open2, open1 = load(v2), load(v1)
        steps = open2["steps"]
        print(f"program: {steps:,} steps")
        print(f"{'':24}{'v1 (jsonl)':>14}{'v2 (binary)':>14}{'v1/v2':>8}")
        rows = [
            ("record, s", rec1, rec2),
            ("file, bytes/step", v1.stat().st_size / steps, v2.stat().st_size / steps),
            ("open + first state, s", open1["load_s"], open2["load_s"]),
            ("  RSS then, bytes/step", open1["rss"] / steps, open2["rss"] / steps),
            ("then all indexes, s", open1["index_s"], open2["index_s"]),
            ("  RSS then, bytes/step", open1["rss_indexed"] / steps, open2["rss_indexed"] / steps),
            ("  peak RSS, bytes/step", open1["peak"] / steps, open2["peak"] / steps),
        ]
        for name, a, b in rows:
            print(f"{name:24}{a:14.2f}{b:14.2f}{a / b if b else float('nan'):8.1f}")
        if args.tui:
            tui_rows(folder, program, v1, v2, empty, steps, args.baseline, args.repeat)
        index_table(folder, v2, args.steps, args.baseline)


if __name__ == "__main__":
    main()
