"""The app never crashes on what the program did: huge or unprintable values and output, very
deep stacks, 10,000-line files, a trace cut short, a program that failed to start."""

from __future__ import annotations

import pytest

from duck.app import DuckApp
from duck.collaborators import Collaborators
from duck.session import Session
from duck.trace.format import Trace, header
from tests.duck.tui.conftest import FakeExplainer, settle

pytestmark = pytest.mark.asyncio

FILE = "/prog/odd.py"


def ev(step, event, line, func, frame, parent, depth, **extra):
    record = {"step": step, "event": event, "file": FILE, "line": line, "func": func,
              "depth": depth, "frame": frame, "parent": parent}
    record.update(extra)
    return record


async def test_huge_and_unprintable_values_and_output():
    huge = "'" + "x" * 5000 + "'"
    events = [
        ev(0, "call", 1, "<module>", 1, None, 0),
        ev(1, "line", 1, "<module>", 1, None, 0, changes={"s": huge, "b": "'\\x1b[31mred\\x07'"}),
        ev(2, "line", 2, "<module>", 1, None, 0, stdout="\x1b[2J\x1b[31mred\x07 \x00 \u2028 done\n" * 3000),
    ]
    trace = Trace(header=header(), events=events, sources={FILE: "s = 1\nprint(s)\n"},
                  outcome={"outcome": "finished", "steps": 3, "exit_code": 0})
    app = DuckApp(Session.from_trace(trace), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n")
        await settle(pilot)
        text = app.output.plain
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
        assert "\\x1b[31mred\\x07" in text and "earlier characters" in text
        row = next(str(n.label) for n in app.variables.root.children if n.data.name == "s")
        assert len(row) < 100 and row.endswith("…")
        app.variables.focus()
        app.variables.move_cursor(next(n for n in app.variables.root.children if n.data.name == "s"))
        await pilot.press("v")
        assert "x" * 5000 in str(app.screen.query_one("Static").render()).replace("\n", "")


async def test_very_deep_stack_and_a_10000_line_file():
    depth = 3000
    source = "def down(n):\n    return down(n - 1)\n" + "".join(f"x{i} = {i}\n" for i in range(10_000))
    events = [ev(0, "call", 1, "<module>", 0, None, 0), ev(1, "line", 10_002, "<module>", 0, None, 0)]
    for d in range(1, depth + 1):
        events.append(ev(len(events), "call", 1, "down", d, d - 1, d, changes={"n": str(depth - d)}))
        events.append(ev(len(events), "line", 2, "down", d, d - 1, d))
    trace = Trace(header=header(), events=events, sources={FILE: source},
                  outcome={"outcome": "exception", "steps": len(events), "exit_code": 1,
                           "exception": {"type": "RecursionError", "message": "maximum recursion depth exceeded",
                                         "traceback": []}})
    app = DuckApp(Session.from_trace(trace), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        assert app.source_view.line == 10_002
        assert app.source_view.scroll_offset.y > 9_000
        await pilot.press("G")
        await settle(pilot)
        stack = app.call_stack
        assert stack.option_count == 101
        assert "2901 outer frames not shown" in str(stack.get_option_at_index(100).prompt)
        await pilot.press("p", "U")
        assert app.step == len(events) - 3  # the caller's line that made the innermost call


async def test_trace_cut_short_without_outcome():
    events = [ev(0, "call", 1, "<module>", 1, None, 0), ev(1, "line", 1, "<module>", 1, None, 0)]
    records = [header()] + events + [{"source": FILE, "text": "while True:\n    pass\n"}]
    app = DuckApp(Session.from_records(records), Collaborators(narrator=FakeExplainer()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("G")
        await settle(pilot)
        status = str(app.query_one("#status").render())
        assert "stopped by a limit: interrupted" in status
        await pilot.press("e")
        await settle(pilot)
        assert app.note == "the run raised no exception"
        assert str(app.query_one("#status").render()).endswith("· the run raised no exception")


async def test_program_that_failed_to_start():
    outcome = {"outcome": "failed_to_start", "steps": 0, "exit_code": 1,
               "exception": {"type": "SyntaxError", "message": "invalid syntax",
                             "traceback": [{"file": FILE, "line": 2, "func": "<module>", "text": "x = (",
                                            "column": 5}]}}
    records = [header(script=FILE), {"source": FILE, "text": "y = 1\nx = (\n"}, outcome]
    app = DuckApp(Session.from_records(records), Collaborators(narrator=FakeExplainer(), recorder=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "p", "s", "u", "o", "g", "G", "e", "right_square_bracket", "c", "l", "x", "slash")
        await settle(pilot)
        assert app.step == 0
        assert app.source_view.line == 2 and app.source_view.exception_line
        assert "SyntaxError" in app.monologue.text
        assert "no steps recorded" in str(app.query_one("#status").render())
        await pilot.press("r")
        assert app.errors[-1][0] == "this session cannot be re-run"


async def test_the_real_narrator_explains(session):
    app = DuckApp(session)  # no narrator given: duck.narration.Narrator
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("e")
        await settle(pilot)
        assert app.narrator.name == "narrator"
        assert app.monologue.text.strip()
        assert "ZeroDivisionError" in str(app.monologue.query_one("#outcome").render())


async def test_a_long_trace_paints_first_and_is_indexed_in_a_worker(session, monkeypatch):
    """Past the at-once size, the first screen comes from what step 1 needs; the rest follows."""
    import duck.app
    import duck.session

    monkeypatch.setattr(duck.app, "_INDEX_AT_ONCE", 1)
    monkeypatch.setattr(duck.session, "_INDEX_AHEAD", 1)
    monkeypatch.setattr(duck.session, "_INDEX_BLOCK", 1)
    indexed = []
    handler = DuckApp.on_session_indexed
    monkeypatch.setattr(DuckApp, "on_session_indexed", lambda app, message: (indexed.append(
        message.fraction), handler(app, message)))
    app = DuckApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert indexed[-1] == 1.0 and indexed.count(1.0) == 1  # the worker indexed it, after the first screen
        assert len(indexed) > 1  # with progress on the way
        assert session.indexed_fraction == 1.0
        assert "indexing" not in str(app.query_one("#status").render())
        assert "ZeroDivisionError" in str(app.monologue.query_one("#outcome").render())
        assert app.monologue.text.strip() and "reading the rest" not in app.monologue.text
