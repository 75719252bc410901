"""``e`` in the TUI lands on the line the outcome names, also where the recording and Python's
traceback disagree (a task failing under ``asyncio.gather``, a RecursionError whose innermost raise
the recorder missed)."""

from __future__ import annotations

import pytest

from duck.app import DuckApp
from duck.narration import describe_outcome
from tests.duck.tui.conftest import FakeExplainer, settle

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("name", ["gather_fails", "deep_compare"])
async def test_e_goes_to_the_line_the_outcome_names(recorded, name):
    session = recorded(name)
    app = DuckApp(session, narrator=FakeExplainer())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        assert app.step == session.exception_step()
        assert session.kind(app.step) == "exception"
        assert f" at line {app.source_view.line} " in describe_outcome(session)
        await settle(pilot)
