"""duck's own flags may follow FILE; after `--` every word belongs to the program."""

from __future__ import annotations

import json

from duck.cli import main, parse_command_line
from duck.trace.format import read_trace
from duck.trace.limits import Limits


def parse(argv):
    return parse_command_line(argv)[1]


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


def test_double_dash_right_after_file_keeps_duck_s_step_limit():
    args = parse(["run", "prog.py", "--", "--max-steps", "3"])
    assert args.max_steps == Limits().max_steps
    assert args.args == ["--max-steps", "3"]


def test_only_the_first_double_dash_separates():
    assert parse(["record", "prog.py", "--", "--", "x"]).args == ["--", "x"]
    assert parse(["record", "prog.py", "a", "--", "-o", "b"]).args == ["a", "-o", "b"]


def test_fix_takes_its_oracle_before_double_dash_and_the_program_the_rest():
    args = parse(["fix", "prog.py", "--expect", "3", "--", "-v"])
    assert args.expect == "3"
    assert args.args == ["-v"]


def test_unknown_options_go_to_the_program_in_order():
    args = parse(["record", "prog.py", "-n", "3", "--verbose", "-o", "out.trace"])
    assert args.args == ["-n", "3", "--verbose"]
    assert args.output == "out.trace"


def test_flags_before_file_still_work():
    args = parse(["run", "--plain", "prog.py", "x"])
    assert args.plain is True and args.args == ["x"]


def test_the_program_gets_every_word_after_double_dash(tmp_path, capsys):
    program = tmp_path / "argv.py"
    program.write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    trace = tmp_path / "t.trace"
    assert main(["record", str(program), "-o", str(trace), "--quiet", "--", "--max-steps", "3", "--", "-v"]) == 0
    recorded = read_trace(trace)
    assert recorded.header["limits"]["max_steps"] == Limits().max_steps
    printed = "".join(e.get("stdout", "") for e in recorded.events)
    assert json.loads(printed) == ["--max-steps", "3", "--", "-v"]


def test_fix_with_an_oracle_and_program_flags_runs(tmp_path, capsys):
    program = tmp_path / "verbose.py"
    program.write_text("import sys\nprint(3 if sys.argv[1:] == ['-v'] else 0)\n")
    assert main(["fix", str(program), "--expect", "3", "--", "-v"]) == 0
    assert "nothing to fix" in capsys.readouterr().out


def test_a_missing_file_names_only_file_as_required(capsys):
    for command in ("run", "record", "fix"):
        assert main([command]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: the following arguments are required: FILE\nhint: "), err


def test_fix_refuses_a_stdin_file_that_is_not_utf8_with_an_error_not_a_traceback(tmp_path, capsys):
    program, stdin = tmp_path / "prog.py", tmp_path / "in.bin"
    program.write_text("import sys\nprint(len(sys.stdin.buffer.read()))\n")
    stdin.write_bytes(b"b\xff\n")
    assert main(["fix", str(program), "--stdin", str(stdin), "--expect", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --stdin file {stdin} is not UTF-8 text") and "\nhint: " in err
