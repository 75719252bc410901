"""``duck replay TRACE [--plain]``: open a recorded run again, without running anything.

TRACE is a file written by ``duck record`` (or kept by ``duck run --save``), in either format
(v2 binary opens without parsing each event; v1 JSON Lines is read as before). With a terminal
the Textual UI opens on it (stepping, watches, the narrator and a configured model work; re-run
and fix search need the program, so they are ``duck run``'s); with ``--plain``, or when
standard output is not a terminal, the narrated run is printed as ``duck run --plain`` prints
it. The exit status is the recorded program's (``common.exit_status``). This module only
wires flags; it imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys

from duck.commands.common import add_model_arguments
from duck.errors import DuckError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="TRACE", help="a trace written by `duck record` or kept by `duck run --save`")
    parser.add_argument("--plain", action="store_true",
                        help="print the narrated run instead of opening the UI (the default when output is not a terminal)")
    add_model_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from duck.commands.run import collaborators, open_ui, prepare_model, run_plain
    from duck.session import Session
    from duck.trace.format import TraceFormatError
    from models.config import settings_for

    try:
        session = Session.load(args.trace)
    except TraceFormatError as exc:
        raise DuckError(str(exc), "give a file written by `duck record -o TRACE` or `duck run --save TRACE`; "
                                  "to run a program, use `duck run FILE`") from None
    plain = args.plain or not sys.stdout.isatty()
    settings = settings_for(args)
    explainer = prepare_model(settings, load=plain)
    if plain:
        return run_plain(session, args, None, sys.stdout, explainer=explainer)
    return open_ui(session, collaborators(settings=settings), args=args, oracle=None, settings=settings)
