"""The ``duck`` command line: parses arguments and hands each subcommand to its module.

Subcommands live in ``duck/commands/<name>.py``, each with ``configure(parser)`` and
``main(args) -> int``. ``COMMANDS`` names them by module and one-line help, and only the chosen
command's module is imported and configured (``duck --help`` lists every command from the
table without importing any), so ``duck record`` starts without the other commands' imports
and ``duck --help`` never loads torch or Textual. It catches
``DuckError`` (and a model's ``BackendError``) in one place and prints it as ``error:`` /
``hint:``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from duck import __version__
from duck.cli_types import Parser
from duck.errors import DuckError, report

#: command -> (its module, its one-line help); the module is imported only when the command is chosen
COMMANDS = {
    "run": ("duck.commands.run", "record a run of a Python program, then step through it (TUI, or --plain text)"),
    "record": ("duck.commands.record", "record a run to a trace file, headless"),
    "replay": ("duck.commands.replay", "open a recorded trace again (TUI, or --plain text), without running anything"),
    "convert": ("duck.commands.convert", "rewrite a trace as JSON Lines (v1) or binary (v2)"),
    "fix": ("duck.commands.fix", "search for fixes of a failing program and print the ones that were verified by "
            "re-running it"),
}


def command_module(name: str):
    """The module of command ``name`` (imported now, on first use)."""
    return importlib.import_module(COMMANDS[name][0])


def build_parser() -> argparse.ArgumentParser:
    """The whole parser, every command configured (imports every command module)."""
    return _build_parsers(COMMANDS)[0]


def _chosen(words: Sequence[str]) -> tuple[str, ...]:
    """The command that ``words`` choose (the first word that is not an option), as a tuple of at most one."""
    for word in words:
        if not word.startswith("-"):
            return (word,) if word in COMMANDS else ()
    return ()


def _build_parsers(configured=COMMANDS) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser with every command listed; only the commands in ``configured`` get their options."""
    parser = Parser(
        prog="duck",
        description="duck, a rubber-duck debugger: record a Python run, step it forward and backward, "
        "have it explained, get verified fixes.",
    )
    parser.add_argument("--version", action="version", version=f"duck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers = {}
    for name, (_module, help_text) in COMMANDS.items():
        subparsers[name] = sub.add_parser(name, help=help_text, description=help_text)
        if name in configured:
            command_module(name).configure(subparsers[name])
    return parser, subparsers


def parse_command_line(argv: Sequence[str] | None = None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser and the parsed command line of every ``duck`` command.

    The words after the first ``--`` are the program's, verbatim: they are cut off before
    argparse sees them (argparse would drop a ``--`` right after FILE and read the rest as
    duck's). Before ``--``, duck's own options may stand after FILE too
    (``duck run x.py --plain -- --n 3``); other words there are the program's, in order.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    cut = words.index("--") if "--" in words else len(words)
    ours, program = words[:cut], words[cut + 1:]
    parser, subparsers = _build_parsers(_chosen(ours))
    args = parser.parse_args(ours)
    if not args.command:
        return parser, args
    subparser = subparsers[args.command]
    if not hasattr(args, "args"):
        if program:
            subparser.error(f"unrecognized arguments after --: {' '.join(program)}")
        return parser, args
    args.args = [*_take_duck_options(subparser, args), *program]
    return parser, args


def _take_duck_options(subparser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Parse duck's own options among the words after FILE; return the others (the program's)."""
    rest = list(args.args or [])
    known = subparser._option_string_actions  # argparse exposes no public lookup
    ours: list[str] = []
    program: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        name = word.split("=", 1)[0]
        action = known.get(name) if word.startswith("-") else None
        if action is None or name in ("-h", "--help"):
            program.append(word)
            index += 1
            continue
        takes = 0 if action.nargs == 0 or "=" in word else 1
        ours.extend(rest[index:index + 1 + takes])
        index += 1 + takes
    if ours:
        subparser.parse_args([*ours, args.file], namespace=args)
    return program


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser, args = parse_command_line(argv)
    except SystemExit as done:  # --help, --version, or a bad value already said as error:/hint:
        return done.code if isinstance(done.code, int) else 2
    if not args.command:
        parser.print_help()
        return 2
    module = command_module(args.command)
    try:
        return module.main(args)
    except DuckError as error:
        return report(error)
    except KeyboardInterrupt:
        print("error: interrupted\nhint: run the command again to start over", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`duck run x.py --plain | head`): stop quietly, as Unix tools do;
        # stdout goes to devnull so the interpreter's final flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as error:
        # a model that cannot be had (models must not import duck): its module is looked up, not
        # imported, as one never loaded raised nothing (and `typing` stays off duck record's start-up)
        backends = sys.modules.get("models.base")
        if backends is not None and isinstance(error, backends.BackendError):
            return report(DuckError(error.message, error.hint))
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
