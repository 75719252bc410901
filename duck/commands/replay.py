"""``duck replay TRACE``: open a saved trace (``duck record``, ``duck run --save``) again.

Either trace format works (v2 binary opens without parsing each event; v1 JSON Lines is
read as before). With a terminal this opens the Textual UI on the recording as it is, with
no re-run and no fix search (the program may be gone or changed since); with ``--plain``,
or when standard output is not a terminal, it prints the narrated run. The exit status is
the recorded program's. This module only wires flags; it imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="TRACE", help="a trace file written by duck record or duck run --save")
    parser.add_argument("--plain", action="store_true",
                        help="print the narrated run instead of opening the UI (the default when output is not a terminal)")


def main(args: argparse.Namespace) -> int:
    from duck.errors import DuckError
    from duck.session import Session
    from duck.trace.format import TraceFormatError

    path = Path(args.trace)
    try:
        session = Session.load(path)
    except TraceFormatError as exc:
        raise DuckError(str(exc), "name a file written by `duck record -o TRACE` or `duck run --save TRACE`") from None
    plain = args.plain or not sys.stdout.isatty()
    if plain:
        from duck.commands.run import run_plain

        return run_plain(session, argparse.Namespace(model=None, endpoint=None), None, sys.stdout)
    from duck.app import replay_app

    return replay_app(session)
