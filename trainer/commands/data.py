"""``duck-train data``: the benchmark files duck keeps (CRUXEval, HumanEval+, MBPP+).

``duck-train data`` lists what the user data folder holds; ``duck-train data fetch`` downloads
the benchmarks where there is a network (CRUXEval through ``datasets``, EvalPlus's release
files); ``duck-train data import --from FILE`` copies a downloaded benchmark file in. The corpus decontaminates against these files by
default and ``duck-train eval`` reads them when ``--data`` is not given. See
``corpus.benchmarks``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_action", metavar="ACTION")
    sub.add_parser("list", help="show the data folder and the benchmark files in it (the default)")
    importing = sub.add_parser("import", help="copy a benchmark file (cruxeval.jsonl, HumanEvalPlus.jsonl.gz, "
                                              "MbppPlus.jsonl.gz) into the data folder")
    importing.add_argument("--from", dest="source", type=Path, required=True, nargs="+", metavar="FILE",
                           help="the downloaded file(s); which benchmark each holds is read from its rows")
    fetching = sub.add_parser("fetch", help="download the benchmarks into the data folder (needs a network; "
                                            "CRUXEval through `datasets`)")
    fetching.add_argument("names", nargs="*", metavar="NAME",
                          help="cruxeval, humaneval, mbpp (default: all three)")


def main(args: argparse.Namespace) -> int:
    from corpus import benchmarks

    if getattr(args, "data_action", None) == "fetch":
        from duck.errors import DuckError

        unknown = [name for name in args.names if name not in benchmarks.FILES]
        if unknown:
            raise DuckError(f"no benchmark named {', '.join(unknown)}", f"fetch one of {', '.join(benchmarks.FILES)}")
        for name in args.names or list(benchmarks.FILES):
            print(f"{name}: {benchmarks.SOURCES[name]} -> {benchmarks.fetch(name)}")
        return 0
    if getattr(args, "data_action", None) == "import":
        for source in args.source:
            name, path = benchmarks.import_file(source)
            print(f"{name}: {source} -> {path}")
        return 0
    present = benchmarks.found()
    print(f"data folder: {benchmarks.data_dir()}  (${benchmarks.DATA_ENV} overrides it)")
    for name, file in benchmarks.FILES.items():
        print(f"  {name:<10} {present[name] if name in present else f'missing ({file}: duck-train data import --from FILE)'}")
    return 0
