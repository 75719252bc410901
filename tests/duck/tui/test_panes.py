"""Pilot tests for what the panes show and the keys that act on them: variables, last change,
whole values, call stack, search, watches, help and quit."""

from __future__ import annotations

import pytest

from duck.app import DuckApp
from duck.collaborators import Collaborators
from textual.widgets import Input

from duck.screens import HelpScreen, PromptScreen, ValueScreen
from duck.session import Session
from duck.trace.format import Trace, header
from tests.duck.tui.conftest import FILE, FakeExplainer, ev, settle

pytestmark = pytest.mark.asyncio


def make_app(session) -> DuckApp:
    return DuckApp(session, Collaborators(narrator=FakeExplainer()))


def labels(app) -> list[str]:
    return [str(node.label) for node in app.variables.root.children]


async def test_variables_show_changes_and_expand(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 8  # line 3 again: total changed 0 -> 3
        await pilot.pause()
        rows = labels(app)
        assert "total = 0 -> 3" in rows
        assert "x = 3" in rows and "xs = [3, 4, 5]" in rows
        xs = next(n for n in app.variables.root.children if n.data.name == "xs")
        assert xs.allow_expand
        xs.expand()
        await pilot.pause()
        assert [str(c.label) for c in xs.children] == ["[0] = 3", "[1] = 4", "[2] = 5"]
        app.step = 4  # the call: the argument is new
        await pilot.pause()
        assert any(row.startswith("xs = [3, 4, 5]") and "new" in row for row in labels(app))
        await settle(pilot)


def growing_list_session() -> Session:
    """xs grows by one item per step in one frame, beside a name that never changes."""
    source = "xs = []\nfor i in range(3):\n    xs.append(i)\n"
    events = [ev(0, "call", 1, "<module>", 1, None, 0),
              ev(1, "line", 2, "<module>", 1, None, 0, changes={"xs": "[]", "name": "'fixed'"})]
    for k in range(3):
        events.append(ev(2 + k, "line", 3, "<module>", 1, None, 0,
                         changes={"xs": repr(list(range(k + 1))), "i": str(k)}))
    trace = Trace(header=header(argv=["g.py"], script=FILE), events=events, sources={FILE: source},
                  outcome={"outcome": "finished", "steps": len(events), "exit_code": 0})
    return Session.from_trace(trace)


async def test_stepping_in_one_frame_updates_rows_in_place():
    """Same names: rows are relabelled, an expanded list shows its new items, the cursor stays."""
    app = make_app(growing_list_session())
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 2  # xs = [0], i = 0
        await pilot.pause()
        pane = app.variables
        xs = next(n for n in pane.root.children if n.data.name == "xs")
        xs.expand()
        await pilot.pause()
        assert [str(c.label) for c in xs.children] == ["[0] = 0"]
        pane.focus()
        pane.move_cursor(xs)
        await pilot.press("n")
        assert pane.root.children[labels(app).index("xs = [0] -> [0, 1]")] is xs  # the same node
        assert xs.is_expanded and [str(c.label) for c in xs.children] == ["[0] = 0", "[1] = 1"]
        assert pane.selected_name() == "xs"
        assert "name = 'fixed'" in labels(app)
        await settle(pilot)


async def test_last_change_jumps_back_repeatedly(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 13  # line 5 of the first call; total last changed at step 12
        await pilot.pause()
        app.variables.focus()
        total = next(n for n in app.variables.root.children if n.data.name == "total")
        app.variables.move_cursor(total)
        await pilot.press("l")
        assert app.step == 12
        await pilot.press("l")
        assert app.step == 10
        await pilot.press("l", "l")
        assert app.step == 6
        await pilot.press("l")
        assert app.step == 6 and app.note == "total did not change before this step"
        await settle(pilot)


async def test_view_value_whole(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 5
        await pilot.pause()
        await pilot.press("v")
        assert app.note.startswith("pick a variable")
        app.variables.focus()
        await pilot.press("down", "v")
        assert isinstance(app.screen, ValueScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, ValueScreen)
        await settle(pilot)


async def test_call_stack_selects_a_frame(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 9  # inside average(), called from <module> line 8
        await pilot.pause()
        stack = app.call_stack
        assert stack.option_count == 2
        assert "average" in str(stack.get_option_at_index(0).prompt)
        stack.focus()
        await pilot.press("down")
        assert app.selected_frame == 1
        assert app.source_view.line == 8 and not app.source_view.is_current_frame
        assert "scores = [3, 4, 5]" in labels(app)
        await pilot.press("n")
        assert app.selected_frame == 2  # stepping returns to the current frame
        await settle(pilot)


async def test_output_up_to_the_step(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 14
        await pilot.pause()
        assert "nothing printed yet" in app.output.plain
        app.step = 15
        await pilot.pause()
        assert "4.0" in app.output.plain
        app.step = 21
        await pilot.pause()
        assert "ZeroDivisionError" in app.output.plain
        await settle(pilot)


async def ask(pilot, key: str, text: str | None) -> None:
    """Open a prompt with ``key``, type ``text`` (None: keep what is offered) and submit it."""
    await pilot.press(key)
    assert isinstance(pilot.app.screen, PromptScreen)
    if text is not None:
        pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


async def test_search_forward_and_backward(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, "slash", "total")
        assert app.step == 6
        await ask(pilot, "slash", None)  # the last search is offered again
        assert app.step == 8
        await ask(pilot, "backslash", None)
        assert app.step == 6
        await ask(pilot, "slash", "nothing")
        assert app.step == 6 and "no step after" in app.note


async def test_search_finds_a_whole_word_first(session):
    """``/x`` is the variable ``x`` (step 7), not ``xs`` (step 4); a text that is no whole word anywhere
    ahead is still found inside a longer name, and the note says so."""
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, "slash", "x")
        assert app.step == 7 and app.note == "'x' found"
        await ask(pilot, "backslash", "x")
        assert app.step == 4 and "inside a longer name or value" in app.note  # only xs before step 7
        await ask(pilot, "slash", "4")
        assert app.step == 9  # x = 4 (a whole word in [3, 4, 5] too, but that change is behind)
        await ask(pilot, "slash", "tot")
        assert app.step == 10 and "inside a longer name or value" in app.note


async def test_watch_expressions_on_recorded_values(session):
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 10
        await ask(pilot, "w", "total * 2")
        await ask(pilot, "w", "len(scores)")
        await ask(pilot, "w", "average(xs)")
        watches = str(app.query_one("#watches").render())
        assert "total * 2 = 14" in watches
        assert "len(scores) = 3" in watches  # a global, seen from inside average()
        assert "average(xs) = not available" in watches
        await pilot.press("n", "n")
        assert "total * 2 = 24" in str(app.query_one("#watches").render())
        await pilot.press("W")
        assert not app.query_one("#watches").display
        await settle(pilot)


async def test_help_lists_every_key_and_quit(session):
    app = make_app(session)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {description for _, description, _ in app.screen.rows}
        for binding in DuckApp.BINDINGS:
            assert binding.description in described
        assert ("[", "previous loop iteration", "previous-iteration") in app.screen.rows
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await settle(pilot)
    assert app.return_value == 0


async def test_a_comprehensions_implicit_iterator_is_not_a_variable(tmp_path):
    """Python passes a comprehension's code its first iterator as ``.0``; the program never wrote
    that name, so the variables pane (like the narrator) leaves it out of a real recording."""
    from duck.trace.limits import Limits
    from duck.trace.runner import RecordRequest, record

    program = tmp_path / "squares.py"
    program.write_text("xs = [1, 2, 3]\ntotal = sum(x * x for x in xs)\n")
    trace = tmp_path / "squares.trace"
    record(RecordRequest(script=program, argv=[], stdin=None, limits=Limits(timeout_s=60)), trace)
    session = Session.load(trace)
    inside = [s for s in range(len(session)) if session.event(s).func == "<genexpr>"]
    assert inside, "a generator expression runs as its own frame"
    assert ".0" in session.event(inside[0]).changes  # the recording keeps it
    app = make_app(session)
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = inside[-1]
        await pilot.pause()
        rows = labels(app)
        assert any(row.startswith("x = ") for row in rows), rows
        assert not any(row.startswith(".0") for row in rows), rows
        await settle(pilot)


async def test_a_jump_to_long_output_shows_its_end():
    """From a step with one line printed to one with hundreds: the pane must show the last lines."""
    events = [ev(0, "call", 1, "<module>", 1, None, 0), ev(1, "line", 1, "<module>", 1, None, 0, stdout="first\n")]
    events.append(ev(2, "line", 2, "<module>", 1, None, 0, stdout="".join(f"{i} line\n" for i in range(500))))
    events.append(ev(3, "return", 2, "<module>", 1, None, 0, value="None"))
    trace = Trace(header=header(script=FILE, argv=["prog.py"]), events=events,
                  sources={FILE: "print('first')\nfor i in range(500): print(i, 'line')\n"},
                  outcome={"outcome": "finished", "steps": 4, "exit_code": 0})
    app = make_app(Session.from_trace(trace))
    async with app.run_test(size=(100, 30)) as pilot:
        app.step = 1
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        output = app.output
        assert output.scroll_offset.y == output.max_scroll_y > 0
