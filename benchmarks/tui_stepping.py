"""How fast the TUI steps on a 1,000,000-step trace (the issue's bar: under 16 ms per key).

Builds a synthetic trace of a loop calling a function (5 events per iteration), loads it into a
Session, opens DuckApp headless (Textual's Pilot) with the real narrator, and measures in one run:

* handler: the synchronous work of a stepping action (session queries + pane updates), timed
  around ``app.action_*`` directly, for each kind of step (``G``: last step; ``c``: continue to a
  breakpoint, one set in the called function);
* key + repaint: a key event posted to the app, every message it causes handled, and every
  layout and repaint it asked for written to the (headless) terminal, with no sleeps in the
  measured span (Pilot's ``press`` polls for CPU idleness in 20 ms slices, too coarse here);
  with the number of screen writes each key caused (the goal: one), and the same measure for an
  unbound key (the cost of the measuring itself: it asks every widget to drain its queue). Wall
  time includes waiting for Textual's next refresh tick (it paints at most 60 times a second) and
  other processes on a shared machine; CPU time (this process) is the work itself;
* press: a key press through Pilot, minus a press of an unbound key in the same run (Pilot's
  own 20 ms idle polling), for comparison with earlier runs of this benchmark;
* paced, CPU per key: keys posted 50 ms apart, as a person presses them, with nothing polling
  the widgets in between (the measure above asks every widget to drain its queue several times
  per key, which costs more CPU than some keys do); this process's CPU time over the keys,
  minus that of as many unbound keys, per key. For n, p, g/G alternating (first and last
  step), c (a breakpoint in the called function), and a search (``/``, three characters,
  enter: the prompt, the search in its worker thread, and the repaint).

``--baseline DIR`` runs another checkout of duck (e.g. /work/main) in the same rounds, each
tree in its own process, alternating, and prints both with their ratio (``--rounds``).

Usage: OMP_NUM_THREADS=1 python benchmarks/tui_stepping.py [--steps 1000000] [--presses 40]
       [--baseline DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from textual import events

# --tree DIR (set by --baseline): import duck from that checkout instead of this one.
_TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(Path(__file__).resolve().parents[1])
sys.path.insert(0, _TREE)

from duck.app import DuckApp  # noqa: E402
from duck.session import Session  # noqa: E402
from duck.trace.format import header  # noqa: E402

FILE = "/bench/squares.py"
SOURCE = """\
def step(i, acc):
    return acc + i * i

acc = 0
for i in range(N):
    acc = step(i, acc)
print(acc)
"""


def synthetic_records(steps: int):
    yield header(argv=["squares.py"], script=FILE)
    n = 0
    acc = 0

    def ev(event, line, func, frame, parent, depth, **extra):
        nonlocal n
        record = {"step": n, "event": event, "file": FILE, "line": line, "func": func, "depth": depth,
                  "frame": frame, "parent": parent}
        record.update(extra)
        n += 1
        return record

    yield ev("call", 1, "<module>", 0, None, 0)
    yield ev("line", 4, "<module>", 0, None, 0, changes={"step": "<function step>"})
    i = 0
    while n + 5 < steps:
        yield ev("line", 5, "<module>", 0, None, 0, changes={"acc": str(acc)} if i == 0 else {})
        yield ev("line", 6, "<module>", 0, None, 0, changes={"i": str(i)})
        frame = i + 1
        yield ev("call", 1, "step", frame, 0, 1, changes={"i": str(i), "acc": str(acc)})
        yield ev("line", 2, "step", frame, 0, 1)
        acc += i * i
        yield ev("return", 2, "step", frame, 0, 1, value=str(acc))
        i += 1
        if n < steps:
            pass
    yield ev("line", 7, "<module>", 0, None, 0, changes={"acc": str(acc)})
    yield {"source": FILE, "text": SOURCE.replace("N", str(i))}
    yield {"outcome": "finished", "steps": n, "exit_code": 0}


async def measure(session: Session, presses: int) -> dict:
    app = DuckApp(session)
    results = {}
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        # A long trace is indexed in a worker thread after the first screen: its CPU time is not a key's.
        await app.workers.wait_for_complete()
        await pilot.pause()
        middle = len(session) // 2
        app.breakpoints.add((FILE, 2))  # `c` stops at the next call's body
        app.step = middle
        await pilot.pause()
        for name, action in (("step forward", lambda: app.action_step(1)),
                             ("step back", lambda: app.action_step(-1)),
                             ("step over", app.action_step_over),
                             ("step out", app.action_step_out),
                             ("next iteration", lambda: app.action_iteration(1)),
                             ("last step", app.action_last),
                             ("continue (breakpoint in the call)", app.action_continue),
                             ("continue back", lambda: app.action_continue(True))):
            timings = []
            for k in range(presses):
                app.step = session.clamp(middle + 5 * k + 3)  # inside a call, in the loop
                start = time.perf_counter()
                action()
                timings.append(time.perf_counter() - start)
            results[f"handler {name}"] = statistics.median(timings) * 1000
        await pilot.pause()

        async def press_time(key: str) -> float:
            timings = []
            for _ in range(presses):
                start = time.perf_counter()
                await pilot.press(key)
                timings.append(time.perf_counter() - start)
            return statistics.median(timings) * 1000

        writes = count_screen_writes(app)

        async def key_and_repaint(key: str) -> tuple[float, float, float]:
            timings, cpu_timings, counts = [], [], []
            for _ in range(presses):
                await pilot._wait_for_screen()
                app.screen._on_timer_update()
                writes.clear()
                start, cpu_start = time.perf_counter(), time.process_time()
                app.post_message(events.Key(key, key if len(key) == 1 else None))
                # The key's handler, then the refreshes it asked for (widgets report them to the
                # screen from their idle handlers), then the screen's update: repeated until a
                # round writes nothing more.
                for _round in range(6):
                    before = len(writes)
                    await pilot._wait_for_screen()
                    app.screen._on_timer_update()
                    if _round and len(writes) == before:
                        break
                timings.append(time.perf_counter() - start)
                cpu_timings.append(time.process_time() - cpu_start)
                counts.append(len(writes))
            return (statistics.median(timings) * 1000, statistics.median(cpu_timings) * 1000,
                    statistics.mean(counts))

        app.step = middle
        await pilot.pause()
        for key in ("n", "p"):
            (results[f"key {key} + repaint, wall"], results[f"key {key} + repaint, CPU"],
             results[f"screen writes per key {key}"]) = await key_and_repaint(key)
        results["unbound key, same measure, wall"], results["unbound key, same measure, CPU"], _ = (
            await key_and_repaint("f12"))

        results.update(await paced_keys(app, pilot, presses))

        app.step = middle
        noop = await press_time("f12")
        step = await press_time("n")
        back = await press_time("p")
        results["press n minus unbound key"] = step - noop
        results["press p minus unbound key"] = back - noop
        results["unbound key press (Pilot's own wait)"] = noop
        await app.workers.wait_for_complete([w for w in app.workers if not w.is_cancelled])
    return results


PACE_S = 0.05  # between keys: faster than key repeat, slower than a repaint


def count_screen_writes(app) -> list:
    """A list that gets one item per screen write the app makes from now on (its ``_display`` wrapped)."""
    writes: list = []
    display = app._display

    def counting_display(screen, renderable):
        if renderable is not None:
            writes.append(1)
        return display(screen, renderable)

    app._display = counting_display
    return writes


async def paced_keys(app, pilot, presses: int) -> dict:
    """CPU ms per key with keys posted ``PACE_S`` apart (see the module docstring)."""
    session = app.session
    display = app._display  # put back at the end
    writes = count_screen_writes(app)

    def post(key: str) -> None:
        app.post_message(events.Key(key, key if len(key) == 1 else None))

    async def window(keys: list[str]) -> tuple[float, int]:
        await pilot.pause()
        writes.clear()
        cpu = time.process_time()
        for key in keys:
            post(key)
            await asyncio.sleep(PACE_S)
        return (time.process_time() - cpu) * 1000, len(writes)

    async def search_window(count: int) -> tuple[float, int]:
        """``count`` searches for a text no step changes: the search scans the whole trace."""
        await pilot.pause()
        writes.clear()
        cpu = time.process_time()
        for _ in range(count):
            for key in ["slash", *"zqz", "enter"]:
                post(key)
                await asyncio.sleep(PACE_S)
            await app.workers.wait_for_complete()
            await asyncio.sleep(PACE_S)
        return (time.process_time() - cpu) * 1000, len(writes)

    results = {}
    middle = len(session) // 2
    plans = (("n", ["n"] * presses), ("p", ["p"] * presses), ("g/G", ["g", "G"] * (presses // 2)),
             ("c", ["c"] * presses))
    for name, keys in plans:
        app.step = middle
        idle, _ = await window(["f12"] * len(keys))
        used, count = await window(keys)
        results[f"paced {name}: CPU per key"] = (used - idle) / len(keys)
        results[f"paced {name}: screen writes per key"] = count / len(keys)
    searches = max(presses // 8, 3)
    app.step = middle
    idle, _ = await window(["f12"] * (5 * searches))
    used, count = await search_window(searches)
    results["paced search (/ zqz enter): CPU per search"] = (used - idle) / searches
    app._display = display
    return results


def run_here(steps: int, presses: int) -> dict:
    start = time.perf_counter()
    big = Session.from_records(synthetic_records(steps))
    load_s = time.perf_counter() - start
    small = Session.from_records(synthetic_records(1_000))
    return {"steps": len(big), "small steps": len(small), "load_s": load_s,
            "big": asyncio.run(measure(big, presses)), "small": asyncio.run(measure(small, presses))}


def run_tree(tree: Path, args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    argv = [sys.executable, __file__, "--tree", str(tree), "--json", "--steps", str(args.steps),
            "--presses", str(args.presses)]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--baseline", type=Path, help="another checkout of duck, run in the same rounds")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline: rounds, each tree once a round")
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(run_here(args.steps, args.presses)))
        return
    if args.baseline is None:
        run = run_here(args.steps, args.presses)
        print(f"trace: {run['steps']:,} steps, session built in {run['load_s']:.1f} s")
        print(f"{'median ms':<44}{run['steps']:>12,} steps{run['small steps']:>12,} steps{'ratio':>8}")
        for key, value in run["big"].items():
            other = run["small"][key]
            ratio = value / other if other > 0.05 else float("nan")
            print(f"{key:<44}{value:>18.2f}{other:>18.2f}{ratio:>8.2f}")
        return
    here = Path(_TREE)
    runs: dict[str, list[dict]] = {"base": [], "this": []}
    for _ in range(args.rounds):
        runs["base"].append(run_tree(args.baseline.resolve(), args))
        runs["this"].append(run_tree(here, args))
    print(f"trace: {runs['this'][0]['steps']:,} steps; median of {args.rounds} rounds, each tree in its own "
          f"process, alternating; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'median ms':<44}{'base':>10}{'this':>10}{'this/base':>11}   (1,000 steps: base, this)")
    for key in runs["this"][0]["big"]:
        row = []
        for size in ("big", "small"):
            values = {}
            for tree in ("base", "this"):
                found = [run[size][key] for run in runs[tree] if key in run[size]]
                values[tree] = statistics.median(found) if found else float("nan")
            row.append(values)
        big, small = row
        ratio = big["this"] / big["base"] if big["base"] > 0.05 else float("nan")
        print(f"{key:<44}{big['base']:>10.2f}{big['this']:>10.2f}{ratio:>11.2f}   "
              f"({small['base']:.2f}, {small['this']:.2f})")


if __name__ == "__main__":
    main()
