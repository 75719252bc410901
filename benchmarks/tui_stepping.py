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
  own 20 ms idle polling), for comparison with earlier runs of this benchmark.

Usage: OMP_NUM_THREADS=1 python benchmarks/tui_stepping.py [--steps 1000000] [--presses 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from textual import events

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

        writes = []
        display = app._display

        def counting_display(screen, renderable):
            if renderable is not None:
                writes.append(1)
            return display(screen, renderable)

        app._display = counting_display

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

        app.step = middle
        noop = await press_time("f12")
        step = await press_time("n")
        back = await press_time("p")
        results["press n minus unbound key"] = step - noop
        results["press p minus unbound key"] = back - noop
        results["unbound key press (Pilot's own wait)"] = noop
        await app.workers.wait_for_complete([w for w in app.workers if not w.is_cancelled])
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    start = time.perf_counter()
    big = Session.from_records(synthetic_records(args.steps))
    load_s = time.perf_counter() - start
    small = Session.from_records(synthetic_records(1_000))
    print(f"trace: {len(big):,} steps, session built in {load_s:.1f} s")
    big_results = asyncio.run(measure(big, args.presses))
    small_results = asyncio.run(measure(small, args.presses))
    print(f"{'median ms':<40}{len(big):>12,} steps{len(small):>12,} steps{'ratio':>8}")
    for key, value in big_results.items():
        other = small_results[key]
        ratio = value / other if other > 0.05 else float("nan")
        print(f"{key:<40}{value:>18.2f}{other:>18.2f}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
