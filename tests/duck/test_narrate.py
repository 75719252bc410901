"""The narrator on hand-written traces shaped like the recorder's: key sentences, loops, outcomes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duck.narration import (
    SCOPES,
    Narrator,
    brief_outcome,
    describe_outcome,
    describe_step,
    execution_simulation,
    outcome_tone,
    render_run,
    understanding_the_function,
)
from duck.session import Session
from duck.trace.format import Trace, header
from tests.duck.test_session import FILE as RANDOM_FILE
from tests.duck.test_session import random_traces

FILE = "/prog/prog.py"


class Recording:
    """Builds an event list the way the recorder writes it: frames, lines, changes on the next event."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.stack: list[tuple[int, str]] = []
        self.next_frame = 1

    def _add(self, event: str, line: int, **extra) -> int:
        frame, func = self.stack[-1]
        parent = self.stack[-2][0] if len(self.stack) > 1 else None
        record = {"step": len(self.events), "event": event, "file": FILE, "line": line, "func": func,
                  "depth": len(self.stack) - 1, "frame": frame, "parent": parent}
        record.update({k: v for k, v in extra.items() if v})
        self.events.append(record)
        return record["step"]

    def call(self, func: str, line: int, **args) -> None:
        self.stack.append((self.next_frame, func))
        self.next_frame += 1
        self._add("call", line, changes={k: v for k, v in args.items()})

    def line(self, line: int, stdout: str = "", **changes) -> int:
        return self._add("line", line, changes=changes, stdout=stdout)

    def ret(self, line: int, value: str | None = "None", stdout: str = "", **changes) -> None:
        self._add("return", line, changes=changes, value=value, stdout=stdout)
        self.stack.pop()

    def exc(self, line: int, exc_type: str, msg: str, **changes) -> None:
        self._add("exception", line, changes=changes, exc_type=exc_type, exc_msg=msg)

    def session(self, source: str, **outcome) -> Session:
        outcome.setdefault("outcome", "finished")
        outcome.setdefault("steps", len(self.events))
        trace = Trace(header=header(script=FILE, argv=["prog.py"]), events=self.events,
                      sources={FILE: source}, outcome=outcome)
        return Session.from_trace(trace)


def failing_call(source: str, func: str, arg_name: str, arg: str, body, exc: tuple[str, str, int],
                 call_line: int) -> Session:
    """A module that defines ``func`` at line 1 and calls it at ``call_line``, where it raises."""
    rec = Recording()
    rec.call("<module>", 1)
    rec.line(1)
    rec.line(call_line, **{func: f"<function {func}>"})
    rec.call(func, 1, **{arg_name: arg})
    body(rec)
    exc_type, msg, line = exc
    rec.exc(line, exc_type, msg)
    rec.ret(line)
    rec.exc(call_line, exc_type, msg)
    rec.ret(call_line)
    text = source.splitlines()[line - 1].strip()
    return rec.session(source, outcome="exception", exit_code=1, exception={
        "type": exc_type, "message": msg,
        "traceback": [{"file": FILE, "line": call_line, "func": "<module>"},
                      {"file": FILE, "line": line, "func": func, "text": text}]})


AVERAGE = """\
def average(values):
    total = 0
    for i in range(len(values) + 1):
        total += values[i]
    return total / len(values)

print(average([4, 6]))
"""


def average_session() -> Session:
    def body(rec: Recording) -> None:
        rec.line(2)
        rec.line(3, total="0")
        rec.line(4, i="0")
        rec.line(3, total="4")
        rec.line(4, i="1")
        rec.line(3, total="10")
        rec.line(4, i="2")
    return failing_call(AVERAGE, "average", "values", "[4, 6]", body, ("IndexError", "list index out of range", 4), 7)


def test_index_error_is_explained_with_the_values_of_the_failing_line():
    session = average_session()
    outcome = describe_outcome(session)
    assert outcome.startswith("raised IndexError: list index out of range at line 4 in average (`total += values[i]`)")
    assert "because i == len(values) == 2, one past the last index (1)" in outcome


FIRST = """\
def first(values):
    return values[0]

print(first([]))
"""


def test_an_empty_list_indexed_by_a_literal_is_told_without_repeating_the_index():
    session = failing_call(FIRST, "first", "values", "[]", lambda rec: rec.line(2),
                           ("IndexError", "list index out of range", 2), 4)
    outcome = describe_outcome(session)
    assert "because values is empty, so there is no item 0" in outcome
    assert "(== 0)" not in outcome


def test_run_narration_tells_lines_calls_loops_and_outcome():
    text = render_run(average_session())
    assert text.splitlines()[0].startswith("duck: prog.py raised IndexError")
    assert "### Execution Simulation:" in text
    assert "- line 1: `def average(values):` -> defines average" in text
    assert "  - calls average(values=[4, 6])" in text
    assert "line 2: `total = 0` -> total is set to 0" in text
    assert "line 3: `for i in range(len(values) + 1):` -> the loop starts (3 iterations in all)" in text
    assert "iteration 2 of 3 (i = 1)" in text
    assert "line 4: `total += values[i]` -> total goes from 4 to 10" in text
    assert "line 4: raises IndexError: list index out of range" in text
    assert "average raises IndexError: list index out of range" in text
    assert "line 7: the call raised IndexError: list index out of range, and it propagates here" in text
    assert text.rstrip().endswith("because i == len(values) == 2, one past the last index (1).")


def test_describe_step_tells_what_the_line_does_and_where_in_the_loop():
    session = average_session()
    assert describe_step(session, 8) == ("line 4: `total += values[i]` -> total goes from 4 to 10\n"
                                        "(iteration 2 of 3 of the loop at line 3)")
    assert describe_step(session, 3) == "average is called with values = [4, 6] from line 7; it raises IndexError: list index out of range"
    assert describe_step(session, 11).startswith("line 4: raises IndexError")
    assert "The run raised IndexError" in describe_step(session, 11)


def test_zero_division_names_the_empty_container():
    source = "def mean(xs):\n    return sum(xs) / len(xs)\n\nmean([])\n"
    session = failing_call(source, "mean", "xs", "[]", lambda rec: rec.line(2),
                           ("ZeroDivisionError", "division by zero", 2), 4)
    assert "because len(xs) == 0: xs is empty" in describe_outcome(session)


def test_key_error_names_the_missing_key_and_the_keys_present():
    source = "def bump(word):\n    counts = {'a': 1}\n    counts[word] += 1\n\nbump('b')\n"

    def body(rec):
        rec.line(2)
        rec.line(3, counts="{'a': 1}")
    session = failing_call(source, "bump", "word", "'b'", body, ("KeyError", "'b'", 3), 5)
    assert "because counts has no key word == 'b' (its keys are 'a')" in describe_outcome(session)


def test_failed_assert_shows_the_condition_and_its_values():
    source = "def check(total):\n    assert total == 10, 'bad total'\n\ncheck(9)\n"
    session = failing_call(source, "check", "total", "9", lambda rec: rec.line(2),
                           ("AssertionError", "bad total", 2), 4)
    assert "because `total == 10` is false: total == 9 (message: bad total)" in describe_outcome(session)


def test_type_error_on_none_and_attribute_error_name_the_none():
    source = "def first(xs):\n    return xs[0]\n\nfirst(None)\n"
    session = failing_call(source, "first", "xs", "None", lambda rec: rec.line(2),
                           ("TypeError", "'NoneType' object is not subscriptable", 2), 4)
    assert "because xs is None" in describe_outcome(session)
    source = "def size(p):\n    return p.width\n\nsize(None)\n"
    session = failing_call(source, "size", "p", "None", lambda rec: rec.line(2),
                           ("AttributeError", "'NoneType' object has no attribute 'width'", 2), 4)
    assert "because p is None, which has no attribute 'width'" in describe_outcome(session)


def test_type_error_between_mismatched_operands():
    source = "def add(a):\n    b = '2'\n    return a + b\n\nadd(1)\n"

    def body(rec):
        rec.line(2)
        rec.line(3, b="'2'")
    session = failing_call(source, "add", "a", "1", body,
                           ("TypeError", "unsupported operand type(s) for +: 'int' and 'str'", 3), 5)
    assert "because a == 1 is an int and b == '2' is a str" in describe_outcome(session)


def test_an_exception_the_program_raises_itself_is_not_explained_as_a_failed_lookup():
    source = "def parse(s):\n    raise KeyError('bad config') from None\n\nparse('x')\n"
    session = failing_call(source, "parse", "s", "'x'", lambda rec: rec.line(2), ("KeyError", "'bad config'", 2), 4)
    outcome = describe_outcome(session)
    assert "not in the mapping" not in outcome
    assert "because the program raises it itself with this `raise` statement" in outcome
    source = "def parse(s):\n    try:\n        return int(s)\n    except ValueError as e:\n" \
             "        raise KeyError('bad config') from e\n\nparse('x')\n"

    def body(rec):
        rec.line(2)
        rec.line(3)
        rec.exc(3, "ValueError", "invalid literal for int() with base 10: 'x'")
        rec.line(4)
        rec.line(5, e="ValueError(\"invalid literal for int() with base 10: 'x'\")")
    session = failing_call(source, "parse", "s", "'x'", body, ("KeyError", "'bad config'", 5), 7)
    assert "because the program raises it itself, with `raise ... from`, as the consequence of an exception " \
           "it caught" in describe_outcome(session)
    source = "def check(n):\n    if n < 0:\n        raise\n\ncheck(-1)\n"
    session = failing_call(source, "check", "n", "-1", lambda rec: (rec.line(2), rec.line(3)),
                           ("RuntimeError", "No active exception to reraise", 3), 5)
    assert "because no exception is being handled here, so the bare `raise` has nothing to re-raise" \
        in describe_outcome(session)
    source = "def check(d):\n    try:\n        return d['k']\n    except KeyError:\n        raise\n\ncheck({})\n"

    def body(rec):
        rec.line(2)
        rec.line(3)
        rec.exc(3, "KeyError", "'k'")
        rec.line(4)
        rec.line(5)
    session = failing_call(source, "check", "d", "{}", body, ("KeyError", "'k'", 5), 7)
    assert "because the bare `raise` re-raises the exception being handled" in describe_outcome(session)


def test_a_runaway_recursion_names_the_function_and_the_depth():
    rec = Recording()
    rec.call("<module>", 1)
    rec.line(1)
    rec.line(3, f="<function f>")
    for n in range(60):
        rec.call("f", 1, n=str(n))
        rec.line(2)
    rec.exc(2, "RecursionError", "maximum recursion depth exceeded")
    source = "def f(n):\n    return f(n + 1)\nf(0)\n"
    session = rec.session(source, outcome="exception", exit_code=1, exception={
        "type": "RecursionError", "message": "maximum recursion depth exceeded",
        "traceback": [{"file": FILE, "line": 3, "func": "<module>"}, {"file": FILE, "line": 2, "func": "f"}]})
    assert "because `f` calls itself without end: 61 frames were running when Python's recursion limit " \
           "stopped it" in describe_outcome(session)


def test_exit_code_and_limits_and_failed_start():
    source = "import sys\nsys.exit(3)\n"
    rec = Recording()
    rec.call("<module>", 1)
    rec.line(1)
    rec.line(2, sys="<module 'sys' (built-in)>")
    rec.exc(2, "SystemExit", "3")
    rec.ret(2)
    session = rec.session(source, outcome="exited", exit_code=3)
    assert describe_outcome(session) == "exited with status 3 at line 2 (`sys.exit(3)`) after 5 steps"
    assert "- line 1: `import sys` -> imports sys" in render_run(session)

    source = "n = 0\nwhile True:\n    n += 1\n"
    rec = Recording()
    rec.call("<module>", 1)
    rec.line(1)
    rec.line(2, n="0")
    for k in range(1, 50):
        rec.line(3)
        rec.line(2, n=str(k))
    session = rec.session(source, outcome="limit", limit="max_steps", exit_code=None)
    assert describe_outcome(session) == ("was stopped by the step limit after 101 steps, at line 2 (`while True:`), "
                                         "in iteration 49 of the loop at line 2 (raise it with --max-steps)")

    session = Session.from_trace(Trace(header=header(), events=[], sources={}, outcome={
        "outcome": "failed_to_start", "steps": 0, "exit_code": 1, "exception": {
            "type": "SyntaxError", "message": "invalid syntax",
            "traceback": [{"file": FILE, "line": 3, "column": 7, "text": "x = = 1"}]}}))
    assert describe_outcome(session) == f"could not start: SyntaxError: invalid syntax at {FILE}:3:7 (`x = = 1`)"
    assert "Nothing was recorded" in "".join(Narrator().explain(session, 0, "run"))
    assert "could not start" in render_run(session)


LOOP = """\
def total(n):
    acc = 0
    for k in range(n):
        acc += k
    return acc

print(total(100))
"""


def loop_session(n: int = 100) -> Session:
    rec = Recording()
    rec.call("<module>", 1)
    rec.line(1)
    rec.line(7, total="<function total>")
    rec.call("total", 1, n=str(n))
    rec.line(2)
    rec.line(3, acc="0")
    acc = 0
    for k in range(n):
        rec.line(4, k=str(k))
        changed = {"acc": str(acc + k)} if k else {}
        acc += k
        rec.line(3, **changed)
    rec.line(5)
    # print() runs after total returned: the recorder puts its output on the latest step
    rec.ret(5, value=str(acc), stdout=f"{acc}\n")
    rec.ret(7)
    return rec.session(LOOP, exit_code=0)


def test_long_loops_are_summarised_with_the_net_change():
    text = render_run(loop_session(100))
    assert "iteration 1 of 100 (k = 0)" in text
    assert "iteration 3 of 100 (k = 2)" in text
    assert "iteration 4 of 100" not in text
    assert "... 95 more iterations (4 to 98) ... over them acc goes from 3 to 4753; k goes from 2 to 97" in text
    assert "iteration 99 of 100 (k = 98)" in text
    assert "iteration 100 of 100 (k = 99)" in text
    assert "line 3: `for k in range(n):` -> the loop ends after 100 iterations" in text
    assert "total returns 4950" in text
    assert "prints '4950'" in text
    assert "### Output:\n4950" in text


def test_huge_runs_are_bounded_and_say_what_was_left_out():
    rec = Recording()
    rec.call("<module>", 1)
    for k in range(3000):  # no loop in the source: straight-line steps
        rec.line(1, x=str(k))
    rec.ret(1)
    session = rec.session("x = 1\n")
    text = render_run(session, max_lines=50)
    assert text.count("\n- line 1") + text.startswith("- line 1") <= 50
    assert "the narration stops here after 50 lines: steps 51 to 3,001 (2,951 steps) are not told" in text


def test_narrator_is_an_explainer_for_every_scope():
    narrator = Narrator()
    session = average_session()
    assert narrator.name == "narrator"
    loop = "".join(narrator.explain(session, 8, "loop"))
    assert loop.startswith("- line 3: `for i in range(len(values) + 1):` -> the loop starts")
    call = "".join(narrator.explain(session, 8, "call"))
    assert call.startswith("- calls average(values=[4, 6])")
    failure = "".join(narrator.explain(session, 0, "failure"))
    assert failure.startswith("The program raised IndexError") and "How the failing call got there" in failure
    assert "not inside a loop" in "".join(narrator.explain(session, 2, "loop"))
    assert "".join(narrator.explain(session, 0, "run")) == render_run(session)
    with pytest.raises(ValueError):
        list(narrator.explain(session, 0, "everything"))


def test_execution_simulation_uses_semcoder_line_labels():
    source = "def f(xs):\n    out = []\n    for x in xs:\n        if x > 1:\n            out.append(x)\n    return out\n"
    events = [
        {"step": 0, "event": "call", "file": "<sample>", "line": 1, "func": "f", "depth": 0, "frame": 1,
         "parent": None, "changes": {"xs": "[1, 2]"}},
    ]
    lines = [(2, {}), (3, {"out": "[]"}), (4, {"x": "1"}), (3, {}), (4, {"x": "2"}), (5, {}),
             (3, {"out": "[2]"}), (6, {})]
    for line, changes in lines:
        events.append({"step": len(events), "event": "line", "file": "<sample>", "line": line, "func": "f",
                       "depth": 0, "frame": 1, "parent": None, "changes": changes})
    events.append({"step": len(events), "event": "return", "file": "<sample>", "line": 6, "func": "f",
                   "depth": 0, "frame": 1, "parent": None, "value": "[2]"})
    text = execution_simulation(events, source, call="f([1, 2])", value="[2]")
    assert text.startswith("### Execution Simulation:\nLet's simulate the execution of `f([1, 2])` step by step.")
    assert "- calls f(xs=[1, 2])" in text
    assert "  - [L6]: `out = []` -> out is set to []" in text
    assert "[L8]: `if x > 1:` -> the condition is false" in text
    assert "[L8]: `if x > 1:` -> the condition is true" in text
    assert "[L9]: `out.append(x)` -> out goes from [] to [2]" in text
    assert "- f returns [2]" in text
    assert text.endswith("The function returns `[2]`.")


def test_understanding_the_function_reads_only_the_code():
    text = understanding_the_function(AVERAGE, "average")
    assert text.startswith("### Understanding the Function\nThe function `average` takes the parameter `values`.")
    assert "It assigns `total`." in text
    assert "a `for` loop over `range(len(values) + 1)` with `i`" in text
    assert "It returns `total / len(values)`." in text
    assert understanding_the_function(AVERAGE, "missing") == ""


LOOPY = """\
for a in range(3):
    while b:
        c = a[b]
    if a:
        b = c / a
    else:
        assert c, 'no c'
x = [a for a in b]
"""
OUTCOMES = [
    {"outcome": "finished", "exit_code": 0},
    {"outcome": "exited", "exit_code": 2},
    {"outcome": "limit", "limit": "timeout"},
    *({"outcome": "exception", "exit_code": 1, "exception": {"type": kind, "message": "m", "traceback": [
        {"file": RANDOM_FILE, "line": line, "func": "f1"}]}}
      for kind in ("IndexError", "ZeroDivisionError", "AssertionError", "KeyError", "TypeError", "ValueError")
      for line in (3, 5, 7)),
]


@settings(max_examples=120, deadline=None)
@given(random_traces(), st.sampled_from(OUTCOMES), st.data())
def test_the_narrator_never_fails_whatever_the_trace(events, outcome, data):
    """Random frame/line/value shapes over a source full of loops and branches: every API answers."""
    session = Session.from_trace(Trace(header=header(), events=events, sources={RANDOM_FILE: LOOPY},
                                       outcome=dict(outcome, steps=len(events))))
    text = render_run(session, max_lines=40)
    assert text.rstrip().endswith(".") and "### Outcome:" in text
    assert text.count("\n") < 40 + 60
    step = data.draw(st.integers(0, len(events) - 1))
    assert describe_step(session, step)
    for scope in SCOPES:
        assert "".join(Narrator().explain(session, step, scope))


BRIEF = [
    ({"outcome": "finished", "steps": 3, "exit_code": 0}, "finished", "success"),
    ({"outcome": "exited", "steps": 3, "exit_code": -9, "message": "the program was killed by SIGKILL"},
     "exited with status -9 (the program was killed by SIGKILL)", "warning"),
    ({"outcome": "exception", "steps": 3, "exception": {"type": "IndexError", "message": "list index out of range",
                                                         "traceback": [{"file": "/p/prog.py", "line": 4}]}},
     "IndexError: list index out of range at prog.py:4", "error"),
    ({"outcome": "limit", "steps": 3, "limit": "max_steps", "message": None}, "stopped by a limit: max_steps", "warning"),
    ({"outcome": "failed_to_start", "steps": 0, "exception": None, "message": "no such file: nope.py"},
     "failed to start: no such file: nope.py", "error"),
]


@pytest.mark.parametrize("outcome, brief, tone", BRIEF)
def test_the_brief_outcome_and_its_tone_are_worded_once_for_the_status_bar_and_duck_record(outcome, brief, tone):
    from pathlib import Path

    from duck.commands.record import summary

    assert brief_outcome(outcome) == brief and outcome_tone(outcome) == tone
    assert summary(outcome, Path("run.trace")) == f"duck: recorded {outcome['steps']} step" + \
        ("" if outcome["steps"] == 1 else "s") + f", {brief} -> run.trace"
