"""``duck record FILE [--] [ARGS...] -o TRACE``: record one run to a trace file, headless.

Prints a one-line summary (steps, outcome, trace path) on standard error and exits with the
program's status (``common.exit_status``). ``duck.cli`` lets ``-o``/``--quiet`` stand after FILE
(before ``--``). A program that cannot start (missing file, a
directory, a binary or non-UTF-8 file, a syntax error) is a ``DuckError``: ``error:`` and
``hint:``, exit status 2, with the trace still written. This module only wires flags to
``duck.trace.runner.record``; it imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from duck.cli_types import output_file
from duck.commands.common import add_limit_arguments, add_target_arguments, exit_status, request_from_args
from duck.errors import DuckError
from duck.text import printable


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="TRACE", default="duck.trace", type=output_file,
                        help="where to write the trace (default: duck.trace)")
    parser.add_argument("--format", choices=("binary", "jsonl"), default="binary",
                        help="trace format: binary (v2, the default, opens at once) or jsonl (v1 JSON Lines, "
                             "for other tools; see docs/trace-format.md)")
    parser.add_argument("--quiet", action="store_true",
                        help="do not copy the program's output to the terminal while it runs")
    add_target_arguments(parser)
    add_limit_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from duck.trace.runner import record

    request = request_from_args(args, echo=not args.quiet)
    result = record(request, Path(args.output))
    outcome = result.outcome
    if outcome["outcome"] == "failed_to_start":
        raise DuckError(describe_failure(outcome), outcome.get("hint") or _start_hint(outcome))
    print(summary(outcome, result.trace_path), file=sys.stderr)
    return exit_status(outcome)


def summary(outcome: dict, trace_path: Path) -> str:
    """``duck: recorded 42 steps, finished -> run.trace`` (the outcome worded by ``duck.outcome_words``, light)"""
    from duck.outcome_words import brief_outcome

    steps = outcome.get("steps", 0)
    return printable(f"duck: recorded {steps:,} step{'s' if steps != 1 else ''}, {brief_outcome(outcome)} -> {trace_path}")


def describe_failure(outcome: dict) -> str:
    exc = outcome.get("exception") or {}
    frames = exc.get("traceback") or []
    if exc.get("type") in ("SyntaxError", "IndentationError", "TabError") and frames:
        where = frames[-1]
        return printable(f"{exc['type']} in {where.get('file')}, line {where.get('line')}, column "
                         f"{where.get('column')}: {exc.get('message')}")
    return printable(outcome.get("message") or "the program could not start")


def _start_hint(outcome: dict) -> str:
    exc = outcome.get("exception") or {}
    frames = exc.get("traceback") or []
    if frames and frames[-1].get("text"):
        where = frames[-1]
        caret = " " * max((where.get("column") or 1) - 1, 0) + "^"
        return f"fix the code there and record again:\n    {where['text']}\n    {caret}"
    return "fix the problem above and record again"
