"""The status bar's outcome colour, theme variables reaching the panes, and a [keys] remap in the app."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.theme import Theme

from duck.app import DuckApp
from duck.collaborators import Collaborators
from duck.screens import HelpScreen
from duck.session import Session
from duck.trace.format import Trace, header
from duck.widgets import StatusBar
from duck.widgets.theme import THEME_VARIABLES
from tests.duck.tui.conftest import FakeExplainer, average_trace, settle

pytestmark = pytest.mark.asyncio

CAUGHT = "/prog/caught.py"
CAUGHT_SOURCE = "try:\n    1 / 0\nexcept ZeroDivisionError:\n    pass\n"


def caught_session() -> Session:
    """A run that raises and catches ZeroDivisionError, then finishes normally."""
    def ev(step, event, line, **extra):
        return {"step": step, "event": event, "file": CAUGHT, "line": line, "func": "<module>", "depth": 0,
                "frame": 1, "parent": None, **extra}

    events = [ev(0, "call", 1), ev(1, "line", 1), ev(2, "line", 2),
              ev(3, "exception", 2, exc_type="ZeroDivisionError", exc_msg="division by zero"),
              ev(4, "line", 3), ev(5, "line", 4), ev(6, "return", 4, value="None")]
    trace = Trace(header=header(argv=["caught.py"], script=CAUGHT), events=events, sources={CAUGHT: CAUGHT_SOURCE},
                  outcome={"outcome": "finished", "steps": len(events), "exit_code": 0})
    return Session.from_trace(trace)


def outcome_colour(app: DuckApp, outcome_text: str) -> str | None:
    """The colour the status bar gives the outcome text (None when it is uncoloured)."""
    shown = app.query_one(StatusBar)._shown
    start = shown.plain.rindex(outcome_text)
    styles = [span.style for span in shown.spans if span.start == start and span.end == start + len(outcome_text)]
    if not styles:
        return None
    style = Style.parse(styles[0]) if isinstance(styles[0], str) else styles[0]
    return style.color.name if style.color else None


async def test_a_failed_runs_outcome_is_red_on_every_kind_of_step():
    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(120, 30)) as pilot:  # wide enough for the whole outcome (else it ends in "…")
        for step in (0, 8, 14, 20):  # call, line, return, exception
            app.step = step
            await pilot.pause()
            assert outcome_colour(app, "ZeroDivisionError: division by zero at average.py:5") == \
                THEME_VARIABLES["duck-error"], step


async def test_a_caught_exception_leaves_a_finished_run_green():
    app = DuckApp(caught_session(), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(100, 30)) as pilot:
        for step in (2, 3, 6):  # a line, the caught exception, the end
            app.step = step
            await pilot.pause()
            assert outcome_colour(app, "finished") == THEME_VARIABLES["duck-success"], step
        app.step = 3
        await pilot.pause()
        shown = app.query_one(StatusBar)._shown
        assert " · exception" in shown.plain  # the step's kind is still marked as an exception


async def test_a_theme_sets_duck_colours():
    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(120, 30)) as pilot:  # wide enough for the whole outcome
        app.register_theme(Theme(name="duck-test", primary="#0178D4", dark=True,
                                 variables={"duck-error": "#123456", "duck-current-line": "#654321"}))
        app.theme = "duck-test"
        await pilot.pause()  # Textual applies a theme's variables on its next turn
        app.step = 8
        await pilot.pause()
        assert outcome_colour(app, "ZeroDivisionError: division by zero at average.py:5") == "#123456"
        assert app.source_view.palette.current.bgcolor.name == "#654321"


async def test_a_keymap_remaps_a_binding_by_id():
    app = DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()),
                  keymap={"step-next": "j", "help": "h"})
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one("#variables").focus()  # out of the source view, whose own j moves its cursor
        await pilot.press("j")
        await settle(pilot)
        assert app.step == 1
        await pilot.press("n")  # the default key of step-next is gone
        await settle(pilot)
        assert app.step == 1
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert ("j", "next", "step-next") in app.screen.rows and ("h", "help", "help") in app.screen.rows


async def test_every_binding_has_an_id_and_ids_are_unique():
    ids = DuckApp.binding_ids()
    assert len(ids) == len(set(ids))
    assert len(ids) == len(DuckApp.BINDINGS) + 5 + 2 + 1 + 1 + 1  # source view, fix, help, prompt, value


async def test_an_imported_modules_top_level_is_named_as_the_narration_names_it(tmp_path):
    """Not ``<module>() line 1 of firstclass.py``: the status bar, the call stack and the variables
    pane say ``module firstclass's top-level code``; the program's own top level stays ``<module>``."""
    from pathlib import Path

    from duck.trace.limits import Limits
    from duck.trace.runner import RecordRequest, record
    from duck.widgets import CallStackPane

    programs = Path(__file__).resolve().parents[1] / "narration" / "programs"
    trace = tmp_path / "importer.trace"
    record(RecordRequest(script=programs / "importer.py", argv=[], stdin=None, limits=Limits(timeout_s=60)), trace)
    session = Session.load(str(trace))
    step = next(step for step in range(len(session)) if session.kind(step) == "line"
                and Path(session.file(step)).name == "firstclass.py")
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(160, 30)) as pilot:
        app.step = step
        await pilot.pause()
        shown = app.query_one(StatusBar)._shown.plain
        assert f"module firstclass's top-level code line {session.line(step)} of firstclass.py" in shown
        assert "<module>" not in shown
        stack = app.query_one(CallStackPane)
        labels = [stack.get_option_at_index(i).prompt.plain for i in range(stack.option_count)]
        assert labels[0].startswith("module firstclass's top-level code")
        assert labels[-1].startswith("<module>")  # the program itself
