"""Pilot tests: every stepping key changes the one reactive ``step`` the way the session says."""

from __future__ import annotations

import pytest

from duck.app import DuckApp
from duck.collaborators import Collaborators
from tests.duck.tui.conftest import FakeExplainer, settle

pytestmark = pytest.mark.asyncio


def make_app(session) -> DuckApp:
    return DuckApp(session, Collaborators(narrator=FakeExplainer()))


async def test_forward_back_first_last(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.step == 0
        await pilot.press("n", "right", "n")
        assert app.step == 3
        await pilot.press("p", "left")
        assert app.step == 1
        await pilot.press("G")
        assert app.step == len(session) - 1
        await pilot.press("n")
        assert app.step == len(session) - 1
        assert app.note == "this is the last step"
        await pilot.press("g")
        assert app.step == 0
        await pilot.press("p")
        assert app.note == "this is the first step"
        await settle(pilot)


async def test_into_over_out_both_directions(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 3  # module line 8: print(average(scores))
        await pilot.press("o")
        assert app.step == 15  # stepped over the whole call
        await pilot.press("O")
        assert app.step == 3
        await pilot.press("s")
        assert app.step == 4
        await pilot.press("s", "s", "s")
        assert app.step == 7
        await pilot.press("u")
        assert app.step == 15  # out of average(), back in the module
        app.step = 9
        await pilot.press("U")
        assert app.step == 3  # backward out: the caller's step that made the call
        await pilot.press("S")
        assert app.step == 2
        await settle(pilot)


async def test_exception_and_loop_iterations(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("e")
        assert app.step == 20
        assert session.kind(app.step) == "exception"
        assert app.source_view.exception_line and app.source_view.line == 5
        app.step = 7  # first iteration, line 4
        status = str(app.query_one("#status").render())
        assert "iteration 1 of 3" in status
        await pilot.press("right_square_bracket")
        assert app.step == 8  # an iteration starts where the loop header runs
        await pilot.press("right_square_bracket")
        assert app.step == 10
        assert "iteration 3 of 3" in str(app.query_one("#status").render())
        await pilot.press("right_square_bracket")
        assert app.step == 10 and app.note == "this is the loop's last iteration"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.step == 6
        app.step = 3
        await pilot.press("right_square_bracket")
        assert app.note == "not inside a loop"
        await settle(pilot)


async def test_breakpoints_continue_both_ways(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("c")
        assert app.note.startswith("no breakpoints")
        app.source_view.focus()
        await pilot.press("down", "down", "down")  # the cursor follows the current line (1): now on 4
        assert app.source_view.cursor == 4
        await pilot.press("b")
        assert (app.source_view.file, 4) in app.breakpoints
        assert 4 in app.source_view.breakpoints
        await pilot.press("c")
        assert app.step == 7
        await pilot.press("c")
        assert app.step == 9
        await pilot.press("C")
        assert app.step == 7
        await pilot.press("C")
        assert app.note == "no breakpoint is hit before this step"
        app.source_view.cursor = 4
        await pilot.press("b")
        assert not app.breakpoints
        await settle(pilot)


async def test_click_a_line_runs_to_its_next_execution(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.source_view
        assert view.scroll_offset.y == 0
        text_column = 1 + view._gutter_width() + 2  # past the border and the gutter
        await pilot.click(view, offset=(text_column, 5))  # row 5 under the top border is line 5
        assert app.step == 13
        await pilot.click(view, offset=(text_column, 5))
        assert app.step == 19
        await pilot.click(view, offset=(text_column, 5))
        assert "does not run after this step" in app.note
        await pilot.click(view, offset=(text_column, 0))  # the border: nothing
        assert app.step == 19
        await settle(pilot)


async def test_click_in_the_gutter_toggles_a_breakpoint(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.source_view
        await pilot.click(view, offset=(2, 4))  # the gutter of line 4
        assert app.step == 0  # a gutter click does not step
        assert (view.file, 4) in app.breakpoints and 4 in view.breakpoints
        assert "●" in view.render_line(3).text
        await pilot.press("c")
        assert app.step == 7
        await pilot.click(view, offset=(2, 4))
        assert not app.breakpoints and "●" not in view.render_line(3).text
        await settle(pilot)


async def test_enter_in_source_runs_to_cursor_line(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.source_view.focus()
        await pilot.press("down", "down", "down", "down", "enter")  # line 5
        assert app.step == 13
        await settle(pilot)


async def test_one_key_is_one_screen_write(session):
    """Every pane's update for a step goes out in a single write to the terminal (no follow-up
    repaint for the explanation, the tree cursor or a second layout pass)."""
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        writes = []
        display = app._display

        def counting_display(screen, update):
            if update is not None:
                writes.append(app.step)
            return display(screen, update)

        app._display = counting_display
        for _ in range(50):  # the first screen's own follow-ups (highlighting after the first paint) are out
            quiet = len(writes)
            await pilot.pause(0.05)
            await settle(pilot)
            if len(writes) == quiet:
                break
        for key in ("n", "n", "n", "n", "s", "u", "p", "G", "g"):  # into a call, out, across frames
            before, written = app.step, len(writes)
            await pilot.press(key)
            await settle(pilot)  # every repaint this key causes has gone out (a busy machine may be slow)
            await pilot.pause()
            assert app.step != before
            # a write still showing the step before the key is a repaint left over from before it
            # (a loaded machine may deliver it late); the key's own update is one write
            after_key = [step for step in writes[written:] if step != before]
            assert after_key == [app.step], (key, writes[written:])
        await settle(pilot)
