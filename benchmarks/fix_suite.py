"""Run ``duck fix`` over the fix suite (benchmarks/fixes) and report what it verified.

For every case: copy its folder to a temporary place, run ``duck fix prog.py --json`` with the
case's oracle (as a user would, in a subprocess), time it, and, when a fix was verified, call
the held-out inputs (never shown to duck) on the fixed program in a child process and compare
with the correct program's answers. Prints one line per case and a summary: verified fixes,
how many of those also pass the held-out inputs, time per program, and candidates checked /
recorded (the column ``N/M``: only candidates that pass an untraced run are recorded).

    python benchmarks/fix_suite.py [--only NAME ...] [--time-budget 30] [--json out.json]

This is a measurement, not a test; it needs no model (pass --model/--endpoint to add one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE / "fixes"

HELDOUT_RUNNER = r"""
import json, sys
source, calls = json.load(sys.stdin)
namespace = {"__name__": "heldout"}
exec(compile(source, "prog.py", "exec"), namespace)
answers = []
for call in calls:
    try:
        answers.append(repr(eval(call, namespace)))
    except Exception as exc:
        answers.append(f"raised {type(exc).__name__}: {exc}")
print(json.dumps(answers))
"""


def heldout_passes(source: str, heldout: list[dict]) -> tuple[bool, str]:
    try:
        done = subprocess.run([sys.executable, "-c", HELDOUT_RUNNER], input=json.dumps([source, [h["call"] for h in heldout]]),
                              capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False, "held-out run timed out"
    if done.returncode != 0:
        return False, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "held-out run failed"
    answers = json.loads(done.stdout)
    wrong = [f"{h['call']} -> {a} (want {h['expected']})" for h, a in zip(heldout, answers) if a != h["expected"]]
    return not wrong, "; ".join(wrong)


def run_case(folder: Path, extra: list[str], budget: float) -> dict:
    meta = json.loads((folder / "case.json").read_text())
    with tempfile.TemporaryDirectory(prefix="duck-suite-") as tmp:
        work = Path(tmp) / folder.name
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns("case.json", "__pycache__"))
        command = [sys.executable, "-m", "duck", "fix", "prog.py", "--json",
                   "--time-budget", str(budget), *extra]
        if meta["oracle"] == "expect":
            command += ["--expect", meta["expect"]]
        elif meta["oracle"] == "test":
            command += ["--test", meta["test"]]
        started = time.monotonic()
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=budget * 4 + 60)
        elapsed = time.monotonic() - started
    row = {"name": meta["name"], "class": meta["class"], "edits": meta["edits"], "oracle": meta["oracle"],
           "added": meta.get("added", 1),
           "seconds": round(elapsed, 2), "verified": False, "heldout": False, "fix": None, "note": ""}
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        row["note"] = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return row
    row["candidates"] = report.get("candidates_run")
    row["recorded"] = report.get("recorded_runs")
    if not report.get("failed"):
        row["note"] = "the buggy program already passes its oracle (a bad case)"
    if report.get("fixes"):
        best = report["fixes"][0]
        row["verified"] = True
        row["fix"] = best["description"]
        row["heldout"], row["note"] = heldout_passes(best["patched_source"], meta["heldout"])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="case names to run")
    parser.add_argument("--time-budget", type=float, default=30.0, help="duck fix --time-budget per case (default 30)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="more duck fix options after --, e.g. -- --model semcoder-s")
    args = parser.parse_args()
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    folders = sorted(p for p in SUITE.iterdir() if (p / "case.json").exists())
    if args.only:
        folders = [p for p in folders if p.name in args.only]
    print(f"duck fix suite: {len(folders)} programs on {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, time budget {args.time_budget:g} s each")
    rows = []
    for folder in folders:
        row = run_case(folder, extra, args.time_budget)
        rows.append(row)
        status = "HELD-OUT OK" if row["heldout"] else ("verified" if row["verified"] else "no fix")
        runs = f"{row.get('candidates') or 0}/{row.get('recorded') or 0}"
        print(f"{row['name']:16} {row['class']:28} {row['oracle']:8} {row['seconds']:6.1f}s {runs:>7}  {status:11} "
              f"{row['fix'] or ''} {('| ' + row['note']) if row['note'] else ''}", flush=True)
    for added in sorted({r["added"] for r in rows}):
        group = [r for r in rows if r["added"] == added]
        good = [r for r in group if r["verified"]]
        print(f"cases added in round {added}: verified {len(good)}/{len(group)}, "
              f"correct on held-out inputs {sum(1 for r in good if r['heldout'])}/{len(good)}")
    verified = [r for r in rows if r["verified"]]
    general = [r for r in verified if r["heldout"]]
    within = [r for r in verified if r["seconds"] <= 30]
    times = sorted(r["seconds"] for r in rows)
    print(f"\nverified fix: {len(verified)}/{len(rows)} ({100 * len(verified) / max(1, len(rows)):.0f}%); "
          f"of those, correct on held-out inputs: {len(general)}/{len(verified)}; "
          f"verified within 30 s: {len(within)}/{len(rows)}")
    candidates = sum(r.get("candidates") or 0 for r in rows)
    recorded = sum(r.get("recorded") or 0 for r in rows)
    print(f"candidates checked: {candidates}, of which recorded (passed the untraced screening): {recorded}")
    if times:
        print(f"time per program: median {times[len(times) // 2]:.1f} s, mean {sum(times) / len(times):.1f} s, "
              f"max {times[-1]:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
