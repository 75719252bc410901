"""Objects in the UI: a recorded object expands into its attributes, a watch reads them, ``l`` finds an attribute's last change.

The session comes from a real recording of tests/duck/trace/programs/objects.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from duck.app import DuckApp
from duck.collaborators import Collaborators
from duck.session import Session
from duck.trace.limits import Limits
from duck.trace.runner import RecordRequest, record
from tests.duck.tui.conftest import FakeExplainer, settle

PROGRAM = Path(__file__).resolve().parents[1] / "trace" / "programs" / "objects.py"


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Session:
    path = tmp_path_factory.mktemp("objects") / "objects.trace"
    record(RecordRequest(script=PROGRAM, limits=Limits(timeout_s=60), stdin=None), path)
    return Session.load(path)


def _module_steps(session: Session, name: str) -> list[tuple[int, str]]:
    """(step, value) of each change of the module-level ``name``."""
    module = session.frame(session.last())
    return session.history(name, module)


def test_the_last_change_of_an_attribute(session):
    last = session.last()
    heads = _module_steps(session, "head")
    bumped = next(step for step, value in heads if value.startswith("Node(value=10,"))
    built = next(step for step, value in heads if value.startswith("Node(value=1,"))
    assert session.last_change("head", last) == bumped
    assert session.last_change("head.value", last) == bumped  # set inside bump(), seen from the caller
    assert session.last_change("head.next.value", last) == built  # unchanged by bump()
    assert session.last_change("head.next.next.next", last) == built
    assert session.last_change("pair.right", last) > bumped  # a slot set after bump()


@pytest.mark.asyncio
async def test_an_object_expands_into_its_attributes_and_l_follows_one(session):
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))
    heads = _module_steps(session, "head")
    bumped = next(step for step, value in heads if value.startswith("Node(value=10,"))
    async with app.run_test(size=(120, 40)) as pilot:
        app.step = session.last()
        await pilot.pause()
        pane = app.variables
        head = next(n for n in pane.root.children if n.data.name == "head")
        assert head.allow_expand
        head.expand()
        await pilot.pause()
        assert [str(c.label) for c in head.children] == [
            ".value = 10", ".next = Node(value=2, next=Node(value=3, next=None))"]
        nested = head.children[1]
        assert nested.allow_expand and nested.data.path == "head.next"
        nested.expand()
        await pilot.pause()
        assert [str(c.label) for c in nested.children] == [".value = 2", ".next = Node(value=3, next=None)"]
        pair = next(n for n in pane.root.children if n.data.name == "pair")
        pair.expand()
        await pilot.pause()
        assert [str(c.label).split(" = ")[0] for c in pair.children] == [".left", ".right"]
        pane.focus()
        pane.move_cursor(head.children[0])
        assert pane.selected_path() == "head.value"
        await pilot.press("l")
        assert app.step == bumped and app.note == "head.value changed here"
        await settle(pilot)


@pytest.mark.asyncio
async def test_a_watch_reads_attributes(session):
    app = DuckApp(session, Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(120, 40)) as pilot:
        app.step = session.last()
        await pilot.pause()
        app.watches.extend(["head.value", "head.next.next.value + 1", "pair.right", "account._balance"])
        app._show_watches()
        watches = str(app.query_one("#watches").render())
        assert "head.value = 10" in watches and "head.next.next.value + 1 = 4" in watches
        assert "pair.right = 'set'" in watches and "account._balance = 5" in watches
        await settle(pilot)
