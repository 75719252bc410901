"""Snapshot tests of whole screens (pytest-textual-snapshot). Update with --snapshot-update after
checking the new SVGs by eye against each test's "you should see" sentence."""

from __future__ import annotations

from duck.app import DuckApp
from duck.collaborators import Collaborators
from duck.session import Session
from tests.duck.tui.conftest import FakeExplainer, average_trace, settle


def app() -> DuckApp:
    return DuckApp(Session.from_trace(average_trace()), Collaborators(narrator=FakeExplainer()))


def test_first_screen_80x24(snap_compare):
    """You should see average.py highlighted with line 1 marked, the failed run's outcome
    (ZeroDivisionError ... `return total / len(xs)`) wrapped over four lines at the top of the
    monologue with a scroll bar for the rest, "step 1 of 22" in the status bar with the outcome in
    red ending in "…" (the run failed, whatever the step's kind), and the key footer ending in
    "? help  q quit" (c continue is left out to make room), all inside 80x24."""
    assert snap_compare(app(), terminal_size=(80, 24), run_before=settle)


def test_inside_the_loop_with_a_change(snap_compare):
    """You should see line 3 marked with hit counts in the gutter (line 3: 2, line 4: 1), total
    shown as `0 -> 3` highlighted, the call stack average / <module>, `iteration 2 of 3`, and the
    whole outcome (down to "xs is empty.") at the top of the monologue."""

    async def run_before(pilot):
        pilot.app.step = 8
        await settle(pilot)

    assert snap_compare(app(), terminal_size=(100, 30), run_before=run_before)


def test_at_the_exception(snap_compare):
    """You should see line 5 marked in red as the raising line, xs = [] and total = 0, the
    traceback in the output pane and "exception" in the status bar."""
    assert snap_compare(app(), terminal_size=(100, 30), press=["e"], run_before=settle)


def test_help_screen(snap_compare):
    """You should see a table of every key (n / →, p / ←, s, S, o, O, u, U, g, G, e, [, ], b, c, C,
    l, v, /, \\, w, W, r, x, f, ?, q, ctrl+c), each with its binding id (step-next, step-back, ...),
    over the dimmed app, whose key footer still ends in "? help  q quit"."""
    assert snap_compare(app(), terminal_size=(80, 40), press=["question_mark"], run_before=settle)
