"""``duck convert TRACE -o OUT [--format jsonl|binary]``: rewrite a trace in the other format.

Reads either version (docs/trace-format.md) and writes v1 JSON Lines (``jsonl``, the
default: the export format for other tools) or v2 binary; converting back gives the same
records. This module only wires flags to ``duck.trace.binary``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="TRACE", help="the trace to read (v1 or v2)")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="where to write the converted trace")
    parser.add_argument("--format", choices=("jsonl", "binary"), default="jsonl",
                        help="jsonl (v1, the default) or binary (v2)")


def main(args: argparse.Namespace) -> int:
    from duck.errors import DuckError
    from duck.trace.binary import convert_to_v1, convert_to_v2
    from duck.trace.format import TraceFormatError

    convert = convert_to_v1 if args.format == "jsonl" else convert_to_v2
    try:
        convert(Path(args.trace), Path(args.output))
    except TraceFormatError as exc:
        raise DuckError(str(exc), "name a file written by `duck record -o TRACE`") from None
    except OSError as exc:
        raise DuckError(f"cannot write {args.output}: {exc.strerror or exc}", "choose another path with -o") from None
    print(f"duck: wrote {args.output} ({args.format})", file=sys.stderr)
    return 0
