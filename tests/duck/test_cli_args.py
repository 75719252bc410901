"""duck's own flags may follow FILE; after `--` every word belongs to the program."""

from __future__ import annotations

from duck.cli import _build_parsers, _take_duck_options


def parse(argv):
    parser, subparsers = _build_parsers()
    args = parser.parse_args(argv)
    _take_duck_options(subparsers[args.command], args)
    return args


def test_duck_flags_after_file_are_duck_s():
    args = parse(["run", "prog.py", "--plain", "--max-steps", "50", "--timeout=2", "a", "b"])
    assert args.plain is True
    assert args.max_steps == 50
    assert args.timeout == 2.0
    assert args.args == ["a", "b"]


def test_words_after_double_dash_are_the_program_s():
    args = parse(["run", "prog.py", "--plain", "--", "--plain", "--max-steps", "3"])
    assert args.plain is True
    assert args.max_steps != 3
    assert args.args == ["--plain", "--max-steps", "3"]


def test_unknown_options_go_to_the_program_in_order():
    args = parse(["record", "prog.py", "-n", "3", "--verbose", "-o", "out.trace"])
    assert args.args == ["-n", "3", "--verbose"]
    assert args.output == "out.trace"


def test_flags_before_file_still_work():
    args = parse(["run", "--plain", "prog.py", "x"])
    assert args.plain is True and args.args == ["x"]
