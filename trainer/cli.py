"""The ``duck-train`` command line: corpus building, training recipes and evaluation.

Each subcommand lives in its own module with ``configure(parser)`` and ``main(args) -> int``;
those modules import torch, transformers, TRL or DeepSpeed only inside ``main``, so
``duck-train --help`` is fast. ``DuckError`` is printed as ``error:`` / ``hint:``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from duck.cli_types import Parser
from duck.errors import DuckError, report
from models.base import BackendError

#: subcommand -> (module with configure/main, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "corpus": ("corpus.cli", "build PyX / PyX-R training data (seeds, extract, synthesize, execute, monologue, refine, dedup, export)"),
    "semcoder": ("trainer.commands.semcoder", "fine-tune a base model on PyX (the SemCoder recipe)"),
    "refine": ("trainer.commands.refine", "self-refine fine-tune on PyX-R from a SemCoder checkpoint"),
    "eval": ("trainer.eval.cli", "score a model on CRUXEval-I/O, HumanEval(+), MBPP(+) or self-refine"),
    "data": ("trainer.commands.data", "the benchmark files duck keeps: list them, import downloaded ones"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="duck-train", description="Build data for, train and evaluate SemCoder-style models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a bad value already said as error:/hint:
        return done.code if isinstance(done.code, int) else 2
    if not args.command:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return module.main(args)
    except DuckError as error:
        return report(error)
    except BackendError as error:  # a model that cannot be had (models must not import duck)
        return report(DuckError(error.message, error.hint))
    except KeyboardInterrupt:
        print("error: interrupted\nhint: run the command again; finished stages and shards are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
