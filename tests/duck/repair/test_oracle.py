"""Each oracle kind judges real recordings: exit status, asserts, expected output, a pytest test."""

from __future__ import annotations

import os

import pytest

from duck.errors import DuckError
from duck.repair.oracle import (ExpectOracle, RunOracle, TestOracle, normalize_output, oracle_for,
                                pytest_results)


def test_exit_oracle_fails_on_exception_and_passes_on_clean_exit(write, recorded):
    bad = write("bad.py", "xs = [1]\nprint(xs[3])\n")
    good = write("good.py", "print('ok')\n")
    oracle = oracle_for(source=bad.read_text())
    assert isinstance(oracle, RunOracle) and oracle.name == "exit"
    verdict = oracle.judge(recorded(bad))
    assert not verdict.passed and "IndexError" in verdict.reason
    assert oracle.failing_step(recorded(bad)) is not None
    assert oracle.judge(recorded(good)).passed


def test_assert_oracle_is_chosen_for_programs_with_asserts(write, recorded):
    prog = write("a.py", "def f(x):\n    return x + 1\n\nassert f(1) == 2\nassert f(2) == 4\n")
    oracle = oracle_for(source=prog.read_text())
    assert oracle.name == "asserts"
    session = recorded(prog)
    verdict = oracle.judge(session)
    assert not verdict.passed and "AssertionError" in verdict.reason
    assert session.event(oracle.failing_step(session)).line == 5


def test_expect_oracle_compares_output_and_points_at_the_first_wrong_print(write, recorded):
    prog = write("e.py", "print(1)\nprint(2)\nprint(3)\n")
    session = recorded(prog)
    assert ExpectOracle("1\n2\n3\n").judge(session).passed
    assert ExpectOracle("1\n2\n3").judge(session).passed  # a missing final newline is not a difference
    wrong = ExpectOracle("1\n5\n3\n")
    verdict = wrong.judge(session)
    assert not verdict.passed and "line 2 is '2', expected '5'" in verdict.reason
    assert session.event(wrong.failing_step(session)).line == 2
    assert normalize_output("a  \nb\n\n") == "a\nb"


def test_expect_from_file_and_bad_options(tmp_path):
    expected = tmp_path / "out.txt"
    expected.write_text("42\n")
    assert oracle_for(expect_file=expected).expected == "42\n"
    assert oracle_for(expect="a\\nb").expected == "a\nb"
    with pytest.raises(DuckError, match="cannot read --expect-file"):
        oracle_for(expect_file=tmp_path / "missing.txt")
    with pytest.raises(DuckError, match="not a pytest node id"):
        oracle_for(test="test_x")


def test_pytest_oracle_runs_the_test_and_checks_the_others_in_its_file(write, recorded):
    from duck.trace.runner import RecordRequest

    prog = write("calc.py", "def double(x):\n    return x * 3\n\ndef ident(x):\n    return x\n")
    write("test_calc.py", "from calc import double, ident\n\n"
                          "def test_double():\n    assert double(2) == 4\n\n"
                          "def test_ident():\n    assert ident(2) == 2\n")
    oracle = oracle_for(test="test_calc.py::test_double")
    assert isinstance(oracle, TestOracle)
    base = RecordRequest(script=prog, cwd=prog.parent, stdin=None)
    prepared = oracle.prepare(base)
    assert prepared.module == "pytest" and prepared.argv[-1] == "test_calc.py::test_double"
    fields = {k: v for k, v in oracle.verify_request(prepared).to_dict().items()
              if k not in ("script", "limits")}
    fields["limits"] = base.limits
    fields["env"] = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")  # no plugin is needed; pytest starts faster
    session = recorded(prog, **fields)
    results = pytest_results(session.stdout)
    assert results == {"test_calc.py::test_double": "FAILED", "test_calc.py::test_ident": "PASSED"}
    verdict = oracle.judge(session)
    assert not verdict.passed and "failed" in verdict.reason
    step = oracle.failing_step(session)
    assert session.event(step).kind == "exception"
    # a fix of double that breaks ident is not verified
    prog.write_text("def double(x):\n    return x * 2\n\ndef ident(x):\n    return x + 1\n")
    broken = recorded(prog, **fields)
    assert oracle.judge(broken).passed
    verdict = oracle.verify(session, broken)
    assert not verdict.passed and "test_ident" in verdict.reason
    prog.write_text("def double(x):\n    return x * 2\n\ndef ident(x):\n    return x\n")
    assert oracle.verify(session, recorded(prog, **fields)).passed
