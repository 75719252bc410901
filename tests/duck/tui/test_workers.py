"""Pilot tests for what runs in workers: explanations, the model, the fix search and re-runs."""

from __future__ import annotations

import asyncio

import pytest

from duck.app import DuckApp
from duck.collaborators import Collaborators
from duck.errors import DuckError
from duck.screens import FixModal
from duck.widgets.messages import ExplanationStreamed
from models.base import BackendError
from tests.duck.tui.conftest import FIX, FakeExplainer, finished_session, settle

pytestmark = pytest.mark.asyncio


async def test_narrator_explains_each_step_and_stale_chunks_are_dropped(session):
    narrator = FakeExplainer()
    app = DuckApp(session, Collaborators(narrator=narrator))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n", "n")
        await settle(pilot)
        assert app.monologue.text == "[fake narrator] step 2 runs line 7 (step)."
        assert (2, "step") in narrator.calls
        app.post_message(ExplanationStreamed(app._explain_token - 1, 1, "stale chunk", "old"))
        app.post_message(ExplanationStreamed(app._explain_token, 1, "wrong step", "old"))
        await pilot.pause()
        assert "stale" not in app.monologue.text and "wrong" not in app.monologue.text


async def test_failed_run_is_summarised_at_the_top(session):
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        outcome = str(app.monologue.query_one("#outcome").render())
        assert "ZeroDivisionError" in outcome and "division by zero" in outcome


async def test_model_loads_after_first_paint_then_x_explains(session):
    painted = []
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))

    def loader():
        painted.append(app.screen.is_mounted and app.source_view.file is not None)
        return FakeExplainer("fake model")

    app.model_loader = loader
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert painted == [True]
        assert app.model is not None and app.model.name == "fake model"
        await pilot.press("e", "x")
        await settle(pilot)
        assert app.monologue.text == "[fake model] step 20 runs line 5 (failure)."


async def test_model_failure_shows_error_and_keeps_narrator(session):
    app = DuckApp(session, Collaborators(narrator=FakeExplainer(),
                  model_loader=lambda: (_ for _ in ()).throw(
                      BackendError("no weights at /nowhere", "pass a checkpoint folder"))))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.model is None
        assert ("no weights at /nowhere", "pass a checkpoint folder") in app.errors
        await pilot.press("x")
        assert app.errors[-1][0].startswith("no model is loaded")
        await pilot.press("n")
        await settle(pilot)
        assert app.monologue.text.startswith("[fake narrator] step 1")


async def test_model_failing_mid_stream_is_an_error_not_a_crash(session):
    app = DuckApp(session, Collaborators(narrator=FakeExplainer(fail=BackendError("server went away", "restart vLLM"))))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await settle(pilot)
        assert ("server went away", "restart vLLM") in app.errors


async def test_fix_found_applied_on_yes_then_rerun(session):
    applied, recorded = [], []

    def recorder():
        recorded.append(True)
        return finished_session()

    app = DuckApp(session, Collaborators(narrator=FakeExplainer(), fix_searcher=lambda s, progress, should_stop: iter([FIX]),
                  fix_applier=lambda fix: applied.append(fix) or "/prog/average.py.bak", recorder=recorder))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FixModal)
        assert app.screen.fix is FIX
        await pilot.press("y")
        await settle(pilot)
        assert applied == [FIX]
        assert len(recorded) == 1
        assert app.session.outcome["outcome"] == "finished"
        assert "re-ran: finished" in app.note


async def test_fix_declined_writes_nothing(session):
    applied = []
    app = DuckApp(session, Collaborators(narrator=FakeExplainer(), fix_searcher=lambda s, progress, should_stop: iter([FIX]),
                  fix_applier=applied.append, recorder=finished_session))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("n")
        assert applied == [] and "unchanged" in app.note
        assert app.fixes_pane.display and app.fixes_pane.fixes == [FIX]


async def test_no_fix_for_a_run_that_did_not_fail():
    app = DuckApp(finished_session(), Collaborators(narrator=FakeExplainer(), fix_searcher=lambda s, progress, should_stop: iter([FIX])))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        await settle(pilot)
        assert not isinstance(app.screen, FixModal)
        assert "nothing to fix" in app.errors[-1][0]


async def test_fix_search_error_is_shown(session):
    def searcher(s, progress, should_stop):
        raise DuckError("the program cannot be re-run", "check that FILE still exists")
        yield  # pragma: no cover

    app = DuckApp(session, Collaborators(narrator=FakeExplainer(), fix_searcher=searcher))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        await settle(pilot)
        assert ("the program cannot be re-run", "check that FILE still exists") in app.errors


async def test_rerun_reloads_and_keeps_position(session):
    app = DuckApp(session, Collaborators(narrator=FakeExplainer(), recorder=finished_session))
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 9
        await pilot.press("r")
        await settle(pilot)
        assert app.session is not session and app.step == 9
        assert app.session.outcome["outcome"] == "finished"
        assert not app.monologue.query_one("#outcome-box").display


async def test_rerun_failure_keeps_the_old_session(session):
    def recorder():
        raise DuckError("cannot write the trace", "free some disk space")

    app = DuckApp(session, Collaborators(narrator=FakeExplainer(), recorder=recorder))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        assert app.session is session
        assert ("cannot write the trace", "free some disk space") in app.errors


class BlockingModel:
    """A model double that streams one chunk, then waits until ``cancel()`` is called (no sleeps)."""

    name = "blocking model"

    def __init__(self) -> None:
        import threading

        self.cancelled = threading.Event()
        self.waiting = threading.Event()  # set once the first chunk has been posted
        self.cancels = 0

    def explain(self, session, step, scope):
        yield f"thinking about step {step}…"
        self.waiting.set()
        if self.cancelled.wait(timeout=30):
            yield "a chunk after cancel (must not be shown)"

    def cancel(self) -> None:
        self.cancels += 1
        self.cancelled.set()

    def close(self) -> None:
        self.cancelled.set()


async def test_stepping_away_cancels_the_model_stream(session):
    model = BlockingModel()
    app = DuckApp(session, Collaborators(narrator=FakeExplainer(), model_loader=lambda: model))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        assert await asyncio.to_thread(model.waiting.wait, 30)
        await pilot.pause()
        assert app.monologue.text == "thinking about step 0…"
        assert model.cancels == 0
        await pilot.press("n")  # the user moves on while the model is still talking
        assert model.cancels == 1
        await settle(pilot)
        assert app.monologue.text.startswith("[fake narrator] step 1")
        assert "after cancel" not in app.monologue.text
        await pilot.press("n")  # nothing streams now: no further cancel
        assert model.cancels == 1


async def test_narrator_text_is_part_of_the_step_itself(session):
    """The narrator reads only the recording, so its text is shown by the step's own handler."""
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(100, 30)) as pilot:
        app.action_step(1)
        assert app.monologue.text == "[fake narrator] step 1 runs line 1 (step)."
        assert not [w for w in app.workers if w.group == "explain"]
        await settle(pilot)
