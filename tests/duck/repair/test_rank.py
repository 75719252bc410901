"""The ranking signals that need no run: lines touched and argument names."""

from __future__ import annotations

from duck.repair.rank import argument_name_gain, changed_chars, lines_touched

FACT = "def fact(n):\n    if n == 0:\n        return 0\n    return n * fact(n - 1)\n"


def test_a_replaced_line_is_smaller_than_an_inserted_base_case():
    constant = FACT.replace("return 0", "return 1")
    base_case = FACT.replace("def fact(n):\n", "def fact(n):\n    if n <= 1:\n        return n\n")
    assert lines_touched(FACT, constant) == 1
    assert lines_touched(FACT, base_case) == 2
    assert changed_chars(FACT, constant) == 1


def test_arguments_named_like_their_parameters():
    buggy = "def percent(part, whole):\n    return 100 * part / whole\n\ndef text(part, whole):\n    return percent(whole, part)\n"
    swapped = buggy.replace("percent(whole, part)", "percent(part, whole)")
    assert argument_name_gain(buggy, swapped) == 2
    assert argument_name_gain(buggy, buggy.replace("100 *", "100 /")) == 0
    assert argument_name_gain("def broken(:\n", buggy) == 0
