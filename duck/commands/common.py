"""Flags shared by ``duck run``, ``duck record`` and ``duck fix``, and turning them into requests.

This module only parses; recording happens in ``duck.trace.runner``. It imports nothing heavy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from duck.cli_types import number, seed, whole_number
from duck.trace.limits import Limits


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE [--] [ARGS...] plus what decides which files are recorded."""
    parser.add_argument("file", metavar="FILE", help="the Python program to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments passed to the program (put them after --)")
    group = parser.add_argument_group("what is recorded")
    group.add_argument("--include", action="append", default=[], metavar="PATH",
                       help="also record code under PATH (default: the program's folder only)")
    group.add_argument("--exclude", action="append", default=[], metavar="PATH",
                       help="do not record code under PATH")
    group.add_argument("--stdin", metavar="FILE",
                       help="read the program's standard input from FILE instead of the terminal")
    group.add_argument("--seed", type=seed, default=0,
                       help="seed for random and PYTHONHASHSEED, so a re-run repeats the run (default 0)")


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    group = parser.add_argument_group("limits (the partial trace is kept when one stops the run)")
    group.add_argument("--max-steps", type=whole_number(1), default=defaults.max_steps, metavar="N",
                       help=f"stop after N recorded steps (default {defaults.max_steps:,})")
    group.add_argument("--timeout", type=number(0, hint="give the seconds a run may take, e.g. --timeout 600; "
                                                  "every run has a time limit"),
                       default=defaults.timeout_s, metavar="SECONDS",
                       help=f"stop after this much wall time (default {defaults.timeout_s:g})")
    group.add_argument("--max-memory", type=whole_number(1), default=defaults.max_memory_mb, metavar="MB",
                       help=f"memory limit of the program (default {defaults.max_memory_mb})")
    group.add_argument("--max-output", type=whole_number(1), default=defaults.max_output_bytes, metavar="BYTES",
                       help=f"stop when the program has printed this much (default {defaults.max_output_bytes:,})")
    group.add_argument("--repr-limit", type=whole_number(1), default=defaults.repr_limit, metavar="CHARS",
                       help=f"longest value kept in the trace (default {defaults.repr_limit})")
    group.add_argument("--user-repr", action="store_true",
                       help="show objects with the program's own __repr__ (contained) instead of their attributes")


def add_oracle_arguments(parser: argparse.ArgumentParser) -> None:
    """How duck decides that the run failed (see duck.repair.oracle)."""
    group = parser.add_argument_group("what counts as a failure")
    exclusive = group.add_mutually_exclusive_group()
    exclusive.add_argument("--expect", metavar="TEXT", help="the expected standard output")
    exclusive.add_argument("--expect-file", metavar="FILE", help="a file holding the expected standard output")
    exclusive.add_argument("--test", metavar="NODEID", help="a pytest test id that must pass (tests/test_x.py::test_y)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Which model explains (see models.registry); with none, the narrator explains."""
    group = parser.add_argument_group("model (optional; without one the narrator explains from the trace)")
    group.add_argument("--model", metavar="NAME|PATH",
                       help="a registry name (semcoder-s, semcoder, ...), a hub id or a local checkpoint/adapter folder")
    group.add_argument("--endpoint", metavar="URL",
                       help="an OpenAI-compatible server (vLLM, llama.cpp, Ollama), e.g. http://127.0.0.1:8000/v1")
    group.add_argument("--load-in-4bit", action="store_true", help="load a local model in 4-bit NF4 (bitsandbytes)")


def limits_from_args(args: argparse.Namespace) -> Limits:
    return Limits(
        max_steps=args.max_steps,
        timeout_s=args.timeout,
        max_memory_mb=args.max_memory,
        max_output_bytes=args.max_output,
        repr_limit=args.repr_limit,
        user_repr=args.user_repr,
    )


def program_args(args: argparse.Namespace) -> list[str]:
    """The program's own arguments (``duck.cli.parse_command_line`` took duck's and the ``--`` out)."""
    return list(args.args)


def script_path(args: argparse.Namespace) -> Path:
    """The program FILE; a trace recorded by duck is refused (running its JSON as Python misleads)."""
    from duck.errors import DuckError
    from duck.trace.format import looks_like_trace

    path = Path(args.file)
    if looks_like_trace(path):
        raise DuckError(f"{path} is a trace recorded by duck, not a Python program",
                        f"open it without running anything: duck replay {path}")
    return path


def request_from_args(args: argparse.Namespace, *, echo: bool = False):
    """The ``RecordRequest`` that the target, limit and stdin flags describe."""
    from duck.errors import DuckError
    from duck.trace.runner import RecordRequest

    stdin: str | None = "inherit"
    if getattr(args, "stdin", None):
        try:
            # the bytes as they are (no newline translation; bytes that are not UTF-8 kept as surrogates),
            # as `python prog.py < FILE` would read them
            stdin = Path(args.stdin).read_bytes().decode("utf-8", "surrogateescape")
        except OSError as exc:
            raise DuckError(f"cannot read --stdin file {args.stdin}: {getattr(exc, 'strerror', None) or exc}",
                            "give a readable file, or leave --stdin out to type the input") from None
    return RecordRequest(
        script=script_path(args),
        argv=program_args(args),
        stdin=stdin,
        include=[Path(p) for p in args.include],
        exclude=[Path(p) for p in args.exclude],
        seed=args.seed,
        limits=limits_from_args(args),
        echo=echo,
        format=1 if getattr(args, "format", "binary") == "jsonl" else 2,
    )


def exit_status(outcome: dict) -> int:
    """The exit status a command reports for a recorded outcome: the program's own where it has one."""
    kind = outcome.get("outcome")
    code = outcome.get("exit_code")
    if kind in ("exited", "exception") and isinstance(code, int) and code < 0:
        return 128 - code  # ended by a signal (an uncaught KeyboardInterrupt: SIGINT): what a shell shows
    if kind == "finished":
        return 0
    if kind == "exited":
        return code if isinstance(code, int) and code > 0 else 1
    if kind == "exception":
        return 1
    if kind == "failed_to_start":
        return 2
    return 3  # a limit stopped the run
