"""What a new user hit in the TUI (the real-programs issue, item 10): a re-run showing the old text,
a failed --expect that looked like success, an 80x24 screen that cut the outcome and lost
"? help q quit", status notes cut at the edge, and "returns None" for a frame that raised."""

from __future__ import annotations

import pytest
from rich.text import Text

from duck.app import DuckApp
from duck.collaborators import Collaborators
from duck.repair.oracle import Verdict
from duck.session import Session
from duck.widgets import KeyBar, StatusBar
from duck.widgets.theme import THEME_VARIABLES
from tests.duck.tui.conftest import SOURCE, FakeExplainer, average_trace, ev, finished_session, settle

pytestmark = pytest.mark.asyncio

WRONG = Verdict(False, "the output differs from the expected one: line 1 is '4.0', expected '4.5'", "expect")


def status_text(app: DuckApp) -> str:
    return app.query_one(StatusBar)._shown.plain


def outcome_text(app: DuckApp) -> str:
    return str(app.monologue.query_one("#outcome").render())


async def test_a_rerun_shows_the_file_as_it_is_now():
    edited = SOURCE.replace("return total / len(xs)", "return total / max(len(xs), 1)  # edited")

    def rerun() -> Session:
        trace = average_trace()
        trace.sources = {path: edited for path in trace.sources}
        trace.events = trace.events[:20]
        trace.outcome = {"outcome": "finished", "steps": 20, "exit_code": 0}
        return Session.from_trace(trace)

    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer(), recorder=rerun))
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 13  # in average(), on the line that was edited
        await pilot.pause()
        assert "    return total / len(xs)" in app.source_view.lines
        await pilot.press("r")
        await settle(pilot)
        assert app.session.outcome["outcome"] == "finished"
        assert app.source_view.lines == edited.splitlines()  # the same file and step: the new text


async def test_a_failed_expect_is_told_as_a_failure_in_the_status_bar_and_the_outcome_box():
    app = DuckApp(finished_session(), Collaborators(narrator=FakeExplainer(), judge=lambda session: WRONG))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        assert "finished but not as expected: the output differs from the expected one: line 1 is '4.0', " \
               "expected '4.5'" in status_text(app)
        told = outcome_text(app)
        assert told.startswith("The program finished (exit status 0) after 20 steps but did not do what was "
                               "expected: the output differs")
        assert "expected '4.5'" in told
        assert app.run_failed()  # so f searches fixes


async def test_the_failed_verdict_is_coloured_as_an_error():
    app = DuckApp(finished_session(), Collaborators(narrator=FakeExplainer(), judge=lambda session: WRONG))
    async with app.run_test(size=(200, 30)) as pilot:
        await settle(pilot)
        shown = app.query_one(StatusBar)._shown
        start = shown.plain.index("finished but not as expected")
        colours = {span.style for span in shown.spans if span.start == start}
        assert any(THEME_VARIABLES["duck-error"] in str(style) for style in colours), colours


async def test_a_passed_verdict_leaves_the_run_finished():
    passed = Verdict(True, "the output is the expected one", "expect")
    app = DuckApp(finished_session(), Collaborators(narrator=FakeExplainer(), judge=lambda session: passed))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert status_text(app).endswith("· finished")
        assert not app.monologue.query_one("#outcome-box").display
        assert not app.run_failed()


async def test_at_80x24_the_key_bar_keeps_help_and_quit_and_drops_less_important_keys():
    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = app.query_one(KeyBar).shown_actions
        assert "help" in shown and "quit_duck" in shown
        assert "step(1)" in shown and "step(-1)" in shown
        assert "continue" not in shown  # the least important key went first
        await pilot.resize_terminal(160, 24)
        await settle(pilot)
        assert "continue" in app.query_one(KeyBar).shown_actions  # room again: every key


async def test_at_80x24_the_outcome_is_wrapped_whole_and_can_be_scrolled_to_its_end():
    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        box = app.monologue.query_one("#outcome-box")
        told = outcome_text(app)
        assert told.startswith("The program raised ZeroDivisionError: division by zero at line 5")
        lines = Text(told).wrap(app.console, box.scrollable_content_region.width)
        assert box.size.height >= 3
        assert box.size.height + box.max_scroll_y >= len(lines)  # every wrapped line is shown or scrolled to


async def test_a_note_too_long_for_the_status_bar_is_notified_whole():
    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()))
    notified: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.notify = lambda message, **options: notified.append(message)
        app.say("breakpoint on line 5")  # short: the outcome gives way, the note is shown whole
        assert status_text(app).endswith("· breakpoint on line 5")
        assert "…" in status_text(app) and notified == []
        long = "line 9 does not run after this step (it ran before: C after b goes back to it) " * 2
        app.say(long)
        assert notified == [long]
        assert status_text(app).endswith("…") and len(status_text(app)) <= 80


async def test_on_the_last_step_a_frame_that_raised_says_so_instead_of_returns_none():
    trace = average_trace()
    trace.events.append(ev(22, "return", 9, "<module>", 1, None, 0))  # left by the exception: no value
    trace.outcome["steps"] = len(trace.events)
    app = DuckApp(Session.from_trace(trace), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("G")
        await settle(pilot)
        assert app.session.kind(app.step) == "return"
        first = str(app.variables.root.children[0].label)
        assert first == "raised ZeroDivisionError: division by zero"


async def test_a_frame_that_returned_none_still_says_returns_none():
    trace = average_trace()
    trace.events[14]["value"] = "None"  # average() returned None this time
    app = DuckApp(Session.from_trace(trace), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 14
        await settle(pilot)
        assert str(app.variables.root.children[0].label) == "returns None"


async def test_a_yield_says_yields_and_the_programs_end_says_no_returns_none(tmp_path):
    from duck.trace.runner import RecordRequest, record

    script = tmp_path / "gen.py"
    script.write_text("def gen():\n    yield 1\n    yield 2\n\nfor v in gen():\n    pass\n")
    record(RecordRequest(script=script, argv=[], stdin=None), tmp_path / "run.trace")
    session = Session.load(tmp_path / "run.trace")
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))
    returns = [step for step in range(len(session)) if session.kind(step) == "return"]
    async with app.run_test(size=(100, 30)) as pilot:
        labels = []
        for step in returns:
            app.step = step
            await settle(pilot)
            labels.append(str(app.variables.root.children[0].label) if app.variables.root.children else "")
        assert labels[:3] == ["yields 1", "yields 2", "returns None"]  # gen's two yields, then its end
        assert not labels[-1].startswith("returns")  # the program's top level hands no value to anyone
