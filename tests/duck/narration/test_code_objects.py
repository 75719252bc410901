"""The narrator names what each recorded frame ran: property getters and setters, static and class
methods, decorated functions, modules' top-level code, coroutines and async generators.

The programs are recorded for real (tests/duck/narration/programs); every sentence checked here
was wrong before (a property getter was "the body of class Account.balance", an imported module
"the body of class <module>" or "<module> is exhausted", an ``await`` a ``StopIteration`` error).
"""

from __future__ import annotations

import re

import pytest

from duck.narration import describe_outcome, describe_step, render_run
from duck.narration.code import SourceIndex, module_name


def _call_steps(session, func: str) -> list[int]:
    return [session.frame_call_step(session.frame(step)) for step in range(len(session))
            if session.kind(step) == "call" and session.frame_func(session.frame(step)) == func
            and session.frame_call_step(session.frame(step)) == step]


def test_property_getters_setters_and_deleters_are_named_as_such(recorded):
    session = recorded("account")
    text = render_run(session)
    assert "runs the getter of property Account.balance (self=Account(_balance=0))" in text
    assert "the getter of property Account.balance returns 0" in text
    assert "runs the setter of property Account.balance (self=Account(_balance=0), value=50)" in text
    assert "the setter of property Account.balance ends" in text
    assert "runs the deleter of property Account.balance" in text
    assert "runs the getter of property Account.report" in text  # functools.cached_property
    assert "calls static method Account.fee(amount=250)" in text
    assert "calls class method Account.empty(cls=" in text
    assert "calls Account.deposit(self=Account(_balance=0), amount=50) (decorated with @logged)" in text
    assert "body of class Account." not in text
    # the step sentences agree: no method, property or decorated function is a class body
    for func in ("Account.balance", "Account.report", "Account.fee", "Account.empty", "Account.deposit"):
        for step in _call_steps(session, func):
            assert "body of class" not in describe_step(session, step), func
    getter = _call_steps(session, "Account.balance")[0]
    assert describe_step(session, getter).startswith("runs the getter of property Account.balance")


def test_a_failure_in_a_setter_is_placed_in_the_setter(recorded):
    session = recorded("setter_fails")
    assert "at line 13 in the setter of property Tank.level" in describe_outcome(session)
    assert "the setter of property Tank.level raises ValueError: overflow: 12" in render_run(session)


def test_an_imported_module_runs_its_top_level_code(recorded):
    session = recorded("importer")
    text = render_run(session)
    for name in ("firstclass", "firstgen", "shapes"):  # first statement: a class, a generator, an import
        assert f"runs module {name}'s top-level code" in text
        assert f"module {name}'s top-level code ends" in text
    assert "<module>" not in text
    first = next(step for step in range(len(session)) if session.kind(step) == "call" and step
                 and session.frame_func(session.frame(step)) == "<module>")
    assert describe_step(session, first) == "runs module firstclass's top-level code from line 2; it ends"
    # a generator dropped after one item is closed, not failed
    assert "closes count_up" in text and "count_up is closed" in text
    assert "raises GeneratorExit" not in text


def test_awaits_are_told_as_awaits_not_as_yields_or_errors(recorded):
    session = recorded("awaits")
    text = render_run(session)
    assert "starts coroutine main()" in text and "starts coroutine fetch(n=1)" in text
    assert "a = await fetch(1)` -> a is set to 2; main waits here (suspended 1 time at the `await`)" in text
    assert "fetch returns 2" in text
    assert "starts async generator ticks(k=2)" in text and "ticks yields `i` (0)" in text
    assert "ticks is exhausted" in text
    assert "StopIteration" not in text and "StopAsyncIteration" not in text
    assert "fetch yields" not in text and "main yields" not in text
    assert "fetch is exhausted" not in text and "main is exhausted" not in text
    exceptions = session.exception_steps()
    assert exceptions  # the recording has Python's own StopIteration signals ...
    for step in exceptions:  # ... and each is told as the await / async for it is
        sentence = describe_step(session, step)
        assert "not an error" in sentence and "raises" not in sentence, sentence
    suspensions = [step for step in range(len(session)) if session.kind(step) == "return"
                   and session.frame_func(session.frame(step)) == "fetch"
                   and step != session.frame_end_step(session.frame(step))]
    assert suspensions and describe_step(session, suspensions[0]) == "fetch is suspended at the `await` (it waits)"


def test_a_run_stopped_by_the_step_limit_is_told_as_stopped_inside_the_loop(recorded):
    session = recorded("spin", max_steps=2000)
    assert session.outcome["outcome"] == "limit"
    text = render_run(session)
    assert text.count("calls spin(n=10000000)") == 1  # the call is told once
    assert "the loop ends" not in text
    iteration = session.loop_at(session.last()).iteration
    assert f"the recording stops here, inside the loop at line 4, during iteration {iteration:,}" in text
    assert f"{iteration:,} iterations recorded before the recording stops" in text
    assert f"in iteration {iteration:,} of the loop at line 4" in describe_outcome(session)
    assert "spin is still running when the recording stops" in text


def test_calls_beyond_the_nesting_bound_are_counted_not_dropped(recorded):
    session = recorded("deep")
    text = render_run(session)
    match = re.search(r"calls depth\(n=(\d+)\), which raises RecursionError[^;]*; \.\.\. ([\d,]+) more calls inside "
                      r"it are not told \.\.\. \(the exception is raised in depth\(n=(\d+)\), at line 3\)", text)
    assert match, text
    shown, elided, raising = int(match[1]), int(match[2].replace(",", "")), int(match[3])
    deeper = [step for step in _call_steps(session, "depth") if int(session.event(step).changes["n"]) > shown]
    assert elided == len(deeper) > 900
    assert session.value_at("n", session.exception_step()) == str(raising)


def test_code_objects_are_read_from_names_first_lines_and_decorators():
    source = (
        "import abc\n"                                  # 1
        "class Shape(abc.ABC):\n"                       # 2
        "    @property\n"                               # 3
        "    @abc.abstractmethod\n"                     # 4
        "    def area(self): ...\n"                     # 5
        "    @area.getter\n"                            # 6
        "    def area(self): return 1\n"                # 7
        "def outer():\n"                                # 8
        "    def inner(): yield 1\n"                    # 9
        "    return inner, (lambda x: x), (y for y in ())\n"  # 10
        "async def agen():\n"                           # 11
        "    yield [z async for z in agen()]\n"         # 12
    )
    index = SourceIndex(source)
    abstract = index.code_object("Shape.area", 3)
    assert (abstract.kind, abstract.role, abstract.decorators) == ("function", "getter", ("abc.abstractmethod",))
    assert index.code_object("Shape.area", 6).role == "getter"
    assert index.code_object("Shape", 2).kind == "class"
    assert index.code_object("outer.<locals>.inner", 9).kind == "generator"
    assert index.code_object("outer.<locals>.<lambda>", 10).role == "lambda"
    assert index.code_object("outer.<locals>.<genexpr>", 10).kind == "generator"
    assert index.code_object("agen", 11).kind == "async generator"
    assert index.code_object("agen.<locals>.<listcomp>", 12).kind == "coroutine"
    module = index.code_object("<module>", 1, "shapes")
    assert (module.kind, module.name) == ("module", "shapes")
    assert index.code_object("Shape.area", 2).kind == "function"  # no node matches: the name alone decides
    assert module_name("/a/pkg/__init__.py") == "pkg" and module_name("/a/helper.py") == "helper"


@pytest.mark.parametrize("name", ["deep", "deep_compare", "gather_fails", "setter_fails"])
def test_the_outcome_names_the_step_where_e_goes(recorded, name):
    session = recorded(name)
    step = session.exception_step()
    outcome = describe_outcome(session)
    assert f"raised {session.event(step).exc_type}" in outcome
    assert f" at line {session.line(step)} " in outcome, (outcome, session.line(step))
    assert f"The run {outcome}." in describe_step(session, step)
    inner = session.outcome["exception"]["traceback"][-1]
    if (inner["file"], inner["line"]) == (session.file(step), session.line(step)):
        assert "Python's traceback ends" not in outcome
    else:  # the recorder missed the innermost raise: the outcome says where Python's traceback ends
        assert f"Python's traceback ends at line {inner['line']}" in outcome


def test_a_task_that_fails_under_gather_is_where_the_failure_is(recorded):
    session = recorded("gather_fails")
    step = session.exception_step()
    assert (session.frame_func(session.frame(step)), session.line(step)) == ("work", 8)
    assert session.value_at("x", step) == "2"


def test_async_for_loops_and_loops_whose_header_awaits_are_told_iteration_by_iteration(recorded):
    """An `async for` header awaits ``__anext__`` (a StopIteration, or a suspension and a resumption)
    before its body runs; a `for` header may await too: each visit still starts an iteration."""
    session = recorded("async_loops")
    text = render_run(session)
    assert "`async for x in agen():` -> the loop starts (3 iterations in all)" in text
    for k in (1, 2, 3):
        assert f"iteration {k} of 3 (x = {k - 1}" in text
    assert "`async for x in agen():` -> the loop ends after 3 iterations" in text
    assert "`for y in squares(await size()):` -> the loop starts (4 iterations in all)" in text
    assert "iteration 1 of 4 (y = 0" in text and "iteration 4 of 4 (y = 9)" in text
    assert "the loop is left during" not in text
    body = [step for step in range(len(session)) if session.kind(step) == "line" and session.line(step) == 24]
    assert [session.loop_at(step).iteration for step in body] == [1, 2, 3]
    assert {(session.loop_at(step).header_line, session.loop_at(step).total) for step in body} == {(23, 3)}


def test_what_a_line_writes_to_stderr_is_told_beside_what_it_prints(recorded):
    """stdout and stderr are both the program's output: a line's text on stderr is told as written
    there, where it was written; and a comprehension's implicit iterator (``.0``) is not an argument."""
    text = render_run(recorded("streams"))
    assert "prints 'squares [0, 1, 4]'" in text
    assert "writes 'warning: the list is short' to stderr" in text
    assert "prints 'warning" not in text
    assert ".0=" not in text
