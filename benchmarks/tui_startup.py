"""Time from ``duck run prog.py`` to the first painted screen, for a 100-line program.

The issue's bar: first paint within 1 s beyond the program's own run time. Measured in one run,
median of ``--repeat`` tries each:

* ``python prog.py``: the program alone;
* ``duck record prog.py``: recording it (the recorder's share);
* ``duck run prog.py`` in a pseudo-terminal until the status bar ("step 1 of") is on screen.

Usage: OMP_NUM_THREADS=1 python benchmarks/tui_startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.duck.tui.test_terminal import Terminal  # noqa: E402  (the pty driver the tests use)


def hundred_line_program() -> str:
    lines = ["import sys", "", ""]
    for k in range(12):
        lines += [f"def f{k}(xs):", "    total = 0", "    for x in xs:", f"        total += x * {k + 1}",
                  "    return total", "", ""]
    lines += ["values = list(range(50))", "results = []"]
    lines += [f"results.append(f{k}(values))" for k in range(12)]
    lines += ["print(sum(results))"]
    while len(lines) < 100:
        lines.append(f"# line {len(lines) + 1}")
    return "\n".join(lines[:100]) + "\n"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def first_paint(program: Path, command: str = "run", timeout: float = 30.0) -> float:
    """Seconds from ``duck COMMAND PATH`` to the status bar on screen (in a pseudo-terminal)."""
    start = time.perf_counter()
    term = Terminal([sys.executable, "-m", "duck", command, str(program)])
    term.read_until(b"step 1 of", timeout=timeout)
    elapsed = time.perf_counter() - start
    term.send("q")
    term.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        program = Path(scratch) / "hundred.py"
        program.write_text(hundred_line_program())
        plain = statistics.median(timed([sys.executable, str(program)]) for _ in range(args.repeat))
        record = statistics.median(
            timed([sys.executable, "-m", "duck", "record", str(program), "-o", str(Path(scratch) / "t.trace")])
            for _ in range(args.repeat))
        paint = statistics.median(first_paint(program) for _ in range(args.repeat))
    print(f"python prog.py (100 lines)          {plain:6.2f} s")
    print(f"duck record prog.py                 {record:6.2f} s")
    print(f"duck run prog.py -> first paint     {paint:6.2f} s")
    print(f"first paint beyond the program run  {paint - plain:6.2f} s   (bar: 1 s)")
    print(f"first paint beyond duck record      {paint - record:6.2f} s   (the UI's own share)")


if __name__ == "__main__":
    main()
