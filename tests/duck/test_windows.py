"""Trace windows rendered as SemCoder prompts, on real recordings."""

import pytest

from duck.windows import block_lines, window_for
from models.prompts import lift, region_names
from tests.models.traced import session_of

PROGRAM = '''def total_even(nums):
    total = 0
    for n in nums:
        if n % 2 == 0:
            total += n
    return total


def mean(xs):
    return sum(xs) / len(xs)


print(total_even([1, 2, 4]))
print(mean([]))
'''


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return session_of(tmp_path_factory.mktemp("win"), PROGRAM)


def _step(session, func, line):
    return next(s for s in range(len(session)) if session.event(s).func == func and session.line(s) == line and session.kind(s) == "line")


def test_call_window_is_the_function_and_its_real_arguments(session):
    window = window_for(session, _step(session, "total_even", 5), "call")
    assert window.question.call == "total_even([1, 2, 4])"
    assert window.expected == "6" and window.raised is None
    prompt = window.prompt()
    assert "[PYTHON]\ndef total_even(nums): # [L5]\n    total = 0 # [L6]\n" in prompt
    # the released forward layout: the assert inside the block
    assert prompt.endswith("    return total # [L10]\nassert total_even([1, 2, 4]) == ??\n[/PYTHON]\n[MONOLOGUE]\n")
    assert window.observed["total"] == ["0", "2", "6"] and window.returns == ["6"]


def test_loop_window_is_lifted_with_entry_values_and_exit_answer(session):
    window = window_for(session, _step(session, "total_even", 5), "loop")
    assert window.kind == "loop"
    assert window.question.code == (
        "def f(nums, total):\n    for n in nums:\n        if n % 2 == 0:\n            total += n\n    return (n, total)"
    )
    assert window.question.call == "f([1, 2, 4], 0)"
    assert window.expected == "(4, 6)"
    # the lifted question is a real one: running it gives the recorded answer
    namespace = {}
    exec(window.question.code, namespace)
    assert repr(eval(window.question.call, namespace)) == window.expected


def test_step_window_is_the_basic_block(session):
    window = window_for(session, _step(session, "total_even", 2), "step")
    assert window.kind == "block"
    assert window.question.code == "def f():\n    total = 0\n    return total"
    assert window.expected == "0"


def test_failure_window_and_run_window(session):
    failure = window_for(session, 0, "failure")
    assert failure.question.call == "mean([])"
    assert failure.raised.startswith("ZeroDivisionError") and failure.expected is None
    run = window_for(session, 0, "run")
    assert run.question.call == "main()" and "def main(): # [L5]" in run.prompt()
    assert "ZeroDivisionError" in run.raised
    assert run.returns == ["6"]  # the unwinding frames returned nothing
    with pytest.raises(ValueError):
        window_for(session, 0, "everything")


def test_lifting_helpers():
    assert region_names("    total += n\n    y = total * 2") == (["total", "n"], ["total", "y"])
    assert lift("    a = b\n", ["b"], ["a"]) == "def f(b):\n    a = b\n    return a"
    assert block_lines("x = 1\ny = 2\nif x:\n    z = 3\n", 2) == (1, 2)
    assert block_lines("x = 1\ny = 2\nif x:\n    z = 3\n", 4) == (4, 4)
