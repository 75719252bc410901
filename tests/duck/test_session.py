"""Session queries against hand-written traces and, with hypothesis, a brute-force replay."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import tempfile
from pathlib import Path

import duck.session as session_module
from duck.session import Session
from duck.session_index import build_index, build_prefix
from duck.trace.binary import convert_to_v2, is_v2
from duck.trace.format import Trace, header

INDEX_AHEAD = session_module._INDEX_AHEAD
INDEX_GROWTH = session_module._INDEX_GROWTH
PREFIX_IN_PYTHON = session_module._PREFIX_IN_PYTHON
WHOLE_IN_PYTHON = session_module.WHOLE_IN_PYTHON

SOURCE = """\
def total(xs):
    acc = 0
    for x in xs:
        acc += x
    return acc

result = total([1, 2])
print(result)
"""
FILE = "/prog/total.py"


def ev(step, event, line, func, frame, parent, depth, **extra):
    record = {"step": step, "event": event, "file": FILE, "line": line, "func": func,
              "depth": depth, "frame": frame, "parent": parent}
    record.update(extra)
    return record


def total_trace() -> Trace:
    events = [
        ev(0, "call", 1, "<module>", 1, None, 0),
        ev(1, "line", 1, "<module>", 1, None, 0),
        ev(2, "line", 7, "<module>", 1, None, 0, changes={"total": "<function total>"}),
        ev(3, "call", 1, "total", 2, 1, 1, changes={"xs": "[1, 2]"}),
        ev(4, "line", 2, "total", 2, 1, 1),
        ev(5, "line", 3, "total", 2, 1, 1, changes={"acc": "0"}),
        ev(6, "line", 4, "total", 2, 1, 1, changes={"x": "1"}),
        ev(7, "line", 3, "total", 2, 1, 1, changes={"acc": "1"}),
        ev(8, "line", 4, "total", 2, 1, 1, changes={"x": "2"}),
        ev(9, "line", 3, "total", 2, 1, 1, changes={"acc": "3"}),
        ev(10, "line", 5, "total", 2, 1, 1),
        ev(11, "return", 5, "total", 2, 1, 1, value="3"),
        ev(12, "line", 8, "<module>", 1, None, 0, changes={"result": "3"}),
        ev(13, "return", 8, "<module>", 1, None, 0, value="None", stdout="3\n"),
    ]
    return Trace(header=header(argv=["total.py"]), events=events, sources={FILE: SOURCE},
                 outcome={"outcome": "finished", "steps": len(events), "exit_code": 0})


def test_state_and_history():
    session = Session.from_trace(total_trace())
    assert len(session) == 14
    assert session.locals_at(9) == {"xs": "[1, 2]", "acc": "3", "x": "2"}
    assert session.value_at("acc", 8) == "1"
    assert session.value_at("result", 9) is None
    assert session.last_change("acc", 8) == 7
    assert session.last_change("acc", 6) == 5
    assert session.changes_at(9) == {"acc": ("1", "3")}
    assert [f.func for f in session.stack(6)] == ["<module>", "total"]
    assert session.stack(6)[0].line == 7
    assert session.output_until(12) == ""
    assert session.output_until(13) == "3\n"
    assert session.hits(FILE, 3) == 3
    assert session.hits(FILE, 3, upto=7) == 2
    assert session.executed_lines(FILE, upto=6) == {1: 1, 7: 1, 2: 1, 3: 1, 4: 1}


def test_navigation():
    session = Session.from_trace(total_trace())
    assert session.step_over(2) == 12
    assert session.step_over(12, backward=True) == 2
    assert session.step_into(2) == 3
    assert session.step_out(6) == 12
    assert session.step_out(6, backward=True) == 2
    assert session.run_to_line(0, FILE, 4) == 6
    assert session.run_to_line(9, FILE, 4, backward=True) == 8
    assert session.run_to_any(0, [(FILE, 5), (FILE, 4)]) == 6
    assert session.exception_step() is None


def test_loops():
    session = Session.from_trace(total_trace())
    position = session.loop_at(6)
    assert (position.header_line, position.iteration, position.total) == (3, 1, 2)
    assert session.loop_at(8).iteration == 2
    assert session.next_iteration(6) == 7
    assert session.prev_iteration(8) == 5
    assert session.next_iteration(8) is None
    assert session.loop_at(10) is None  # line 5 is outside the loop
    assert session.loop_at(4) is None  # before the loop starts


def test_exception_step_is_the_raise_point():
    events = [
        ev(0, "call", 1, "<module>", 1, None, 0),
        ev(1, "line", 7, "<module>", 1, None, 0),
        ev(2, "call", 1, "total", 2, 1, 1, changes={"xs": "None"}),
        ev(3, "line", 2, "total", 2, 1, 1),
        ev(4, "line", 3, "total", 2, 1, 1, changes={"acc": "0"}),
        ev(5, "exception", 3, "total", 2, 1, 1, exc_type="TypeError", exc_msg="not iterable"),
        ev(6, "return", 3, "total", 2, 1, 1, value="None"),
        ev(7, "exception", 7, "<module>", 1, None, 0, exc_type="TypeError", exc_msg="not iterable"),
        ev(8, "return", 7, "<module>", 1, None, 0, value="None"),
    ]
    trace = Trace(header=header(), events=events, sources={FILE: SOURCE},
                  outcome={"outcome": "exception", "steps": 9})
    session = Session.from_trace(trace)
    assert session.exception_step() == 5
    assert session.event(5).exc_type == "TypeError"


def test_load_round_trip(tmp_path):
    path = tmp_path / "t.trace"
    total_trace().write(path)
    session = Session.load(path)
    assert session.outcome["outcome"] == "finished"
    assert session.source(FILE) == SOURCE
    assert session.event(11).value == "3"


def test_trace_without_outcome_is_marked_interrupted(tmp_path):
    path = tmp_path / "t.trace"
    trace = total_trace()
    with open(path, "w") as stream:
        import json
        for record in list(trace.records())[:-2]:
            stream.write(json.dumps(record) + "\n")
        stream.write('{"step": 99, "event": "li')  # torn last line
    session = Session.load(path)
    assert session.outcome["limit"] == "interrupted"
    assert len(session) == 14



def test_an_async_for_header_that_awaits_still_starts_its_iterations():
    """The header awaits ``__anext__`` before the body: a StopIteration carrying the item, or a
    suspension (return) and a resumption (call) of the frame, then the body's line."""
    events = [
        ev(0, "call", 1, "main", 1, None, 0),
        ev(1, "line", 2, "main", 1, None, 0),
        ev(2, "line", 3, "main", 1, None, 0, changes={"acc": "0"}),
        ev(3, "exception", 3, "main", 1, None, 0, exc_type="StopIteration", exc_msg="1"),
        ev(4, "line", 4, "main", 1, None, 0, changes={"x": "1"}),
        ev(5, "line", 3, "main", 1, None, 0, changes={"acc": "1"}),
        ev(6, "return", 3, "main", 1, None, 0, value="None"),
        ev(7, "call", 3, "main", 1, None, 0),
        ev(8, "exception", 3, "main", 1, None, 0, exc_type="StopIteration", exc_msg="2"),
        ev(9, "line", 4, "main", 1, None, 0, changes={"x": "2"}),
        ev(10, "line", 3, "main", 1, None, 0, changes={"acc": "3"}),
        ev(11, "exception", 3, "main", 1, None, 0, exc_type="StopAsyncIteration", exc_msg=""),
        ev(12, "line", 5, "main", 1, None, 0),
        ev(13, "return", 5, "main", 1, None, 0, value="3"),
    ]
    trace = Trace(header=header(argv=["total.py"]), events=events, sources={FILE: SOURCE},
                  outcome={"outcome": "finished", "steps": len(events), "exit_code": 0})
    session = Session.from_trace(trace)
    assert (session.loop_at(4).iteration, session.loop_at(4).total) == (1, 2)
    assert (session.loop_at(9).iteration, session.loop_at(9).total) == (2, 2)
    assert tuple(session.loop_at(9).iteration_steps) == (2, 5)
    assert session.next_iteration(4) == 5
    assert session.loop_at(12) is None

# ------------------------------------------------------------ property tests
#: The random traces' file: nested loops (for 2-5, while 3-4, for 7-8) and a function.
LOOPS_SOURCE = """\
def f(xs):
    for x in xs:
        while x:
            x -= 1
        y = x
    return y
for i in range(3):
    f([i])
"""


@st.composite
def random_traces(draw):
    """Event streams shaped like real ones: nested calls, lines with changes and deletions,
    returns with values, exceptions, lines inside and outside loops."""
    n = draw(st.integers(min_value=1, max_value=60))
    names = ["a", "b", "c"]
    events, stack, next_frame = [], [], 1
    for step in range(n):
        action = draw(st.sampled_from(["line", "line", "line", "call", "return", "exception"]))
        if not stack or (action == "call" and len(stack) < 5):
            stack.append(next_frame)
            kind, frame = "call", next_frame
            next_frame += 1
        elif action == "return" and len(stack) > 1:
            kind, frame = "return", stack[-1]
        elif action == "exception":
            kind, frame = "exception", stack[-1]
        else:
            kind, frame = "line", stack[-1]
        parent = stack[-2] if len(stack) > 1 else None
        changes, deleted = {}, []
        for name in names:
            if draw(st.booleans()) and draw(st.booleans()):
                changes[name] = str(draw(st.integers(0, 3)))
            elif draw(st.integers(0, 9)) == 0:
                deleted.append(name)
        record = {"step": step, "event": kind, "file": FILE, "line": draw(st.integers(1, 8)),
                  "func": f"f{frame}", "depth": len(stack) - 1, "frame": frame, "parent": parent}
        if changes:
            record["changes"] = changes
        if deleted:
            record["deleted"] = deleted
        if kind == "return":
            record["value"] = str(draw(st.integers(0, 3)))
        if kind == "exception":
            record.update(exc_type="ValueError", exc_msg="bad")
        events.append(record)
        if kind == "return":
            stack.pop()
    return events


def replay_locals(events, upto, frame):
    state = {}
    for record in events[: upto + 1]:
        if record["frame"] == frame:
            state.update(record.get("changes", {}))
            for name in record.get("deleted", ()):
                state.pop(name, None)
    return state


def replay_loop(events, step, loop):
    """``loop_at(step)`` by walking the frame's events: a header visit starts an iteration when the
    frame's next line event is in the body; it enters the loop anew when the frame's previous
    line was outside it."""
    frame = events[step]["frame"]
    mine = [r for r in events if r["frame"] == frame]
    visits, previous_line = [], None  # (step, entry, starts an iteration)
    for i, record in enumerate(mine):
        if record["event"] != "line":
            continue
        if record["line"] == loop.header:
            new = previous_line is None or not loop.header <= previous_line <= loop.end or not visits
            after = next((r for r in mine[i + 1:] if r["event"] == "line"), None)
            starts = after is not None and loop.header < after["line"] <= loop.end
            visits.append((record["step"], record["step"] if new else visits[-1][1], starts))
        previous_line = record["line"]
    before = [v for v in visits if v[0] <= step]
    if not before:
        return None
    starts = [v[0] for v in visits if v[1] == before[-1][1] and v[2]]
    iteration = sum(1 for s in starts if s <= step)
    if not starts or not iteration:
        return None
    return loop.header, loop.end, iteration, len(starts), tuple(starts)


def session_in_format(trace: Trace, form: str) -> Session:
    """The session of ``trace`` as built in memory, or loaded from a v1 or a v2 file."""
    if form == "memory":
        return Session.from_trace(trace)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.trace"
        trace.write(path)
        if form == "v2":
            convert_to_v2(path, Path(folder) / "t2.trace")
            path = Path(folder) / "t2.trace"
            assert is_v2(path)
        return Session.load(path)


@settings(max_examples=200, deadline=None)
@given(random_traces(), st.data())
def test_session_agrees_with_brute_force_replay(events, data):
    form = data.draw(st.sampled_from(["memory", "v1", "v2"]))
    trace = Trace(header=header(), events=events, sources={FILE: LOOPS_SOURCE}, outcome={"outcome": "finished"})
    session = session_in_format(trace, form)
    # index only as far as each query needs (the answers must not depend on it), or all at once
    ahead, growth = data.draw(st.sampled_from([(1, 1), (1, 2), (INDEX_AHEAD, INDEX_GROWTH)]))
    session_module._INDEX_AHEAD, session_module._INDEX_GROWTH = ahead, growth
    # a prefix indexed in plain Python (the first screen) or with numpy
    in_python = data.draw(st.booleans())
    session_module._PREFIX_IN_PYTHON = PREFIX_IN_PYTHON if in_python else 0
    session_module.WHOLE_IN_PYTHON = WHOLE_IN_PYTHON if in_python else 0
    try:
        for step in data.draw(st.lists(st.integers(0, len(events) - 1), min_size=1, max_size=4)):
            check_prefix_queries(session, events, step)
        if data.draw(st.booleans()):
            session.index_all()
        check_against_brute_force(session, events, data)
    finally:
        session_module._INDEX_AHEAD, session_module._INDEX_GROWTH = INDEX_AHEAD, INDEX_GROWTH
        session_module._PREFIX_IN_PYTHON, session_module.WHOLE_IN_PYTHON = PREFIX_IN_PYTHON, WHOLE_IN_PYTHON


def _index_fields(index) -> dict:
    """Every array and table of a ``StepIndex`` as plain lists (to compare two builds)."""
    fields = {}
    for name, value in vars(index).items():
        if hasattr(value, "items") and hasattr(value, "offsets"):
            value = [list(value.keys), list(value.offsets), list(value.items)]
        elif not isinstance(value, (int, bool, dict)):
            value = list(value)
        fields[name] = value
    return fields


@settings(max_examples=100, deadline=None)
@given(random_traces(), st.data())
def test_a_prefix_indexed_in_python_is_the_one_numpy_builds(events, data):
    """``build_prefix`` (the first screen's, without numpy) builds exactly what ``build_index`` does."""
    trace = Trace(header=header(), events=events, sources={FILE: LOOPS_SOURCE}, outcome={"outcome": "finished"})
    session = Session.from_trace(trace)
    stop = data.draw(st.integers(0, len(events)))
    assert _index_fields(build_prefix(session, stop)) == _index_fields(build_index(session, stop, complete=False))
    # a whole trace, its loop visits and exception steps included
    assert _index_fields(build_prefix(session, len(events), complete=True)) == _index_fields(
        build_index(session, len(events), complete=True))


def check_prefix_queries(session: Session, events: list[dict], step: int) -> None:
    """The queries about the past, each of which indexes only up to its step."""
    frame = events[step]["frame"]
    assert session.locals_at(step) == replay_locals(events, step, frame)
    for name in ("a", "b", "c"):
        touched = [r["step"] for r in events[: step + 1]
                   if r["frame"] == frame and (name in r.get("changes", {}) or name in r.get("deleted", ()))]
        assert session.last_change(name, step, frame=frame) == (touched[-1] if touched else None)
    same_frame_before = [r["step"] for r in events[:step] if r["frame"] == frame]
    if same_frame_before:
        assert session.step_over(step, backward=True) == same_frame_before[-1]
    line = events[step]["line"]
    line_steps = [r["step"] for r in events if r["event"] == "line" and r["line"] == line]
    assert session.hits(FILE, line, upto=step) == len([s for s in line_steps if s <= step])
    before = [s for s in line_steps if s < step]
    assert session.run_to_line(step, FILE, line, backward=True) == (before[-1] if before else None)
    executed: dict[int, int] = {}
    for record in events[: step + 1]:
        if record["event"] == "line":
            executed[record["line"]] = executed.get(record["line"], 0) + 1
    assert list(session.executed_lines(FILE, upto=step).items()) == list(executed.items())  # first-run order
    assert session.frame_line(frame, step) == [r for r in events[: step + 1] if r["frame"] == frame][-1]["line"]
    event = session.event(step)
    assert event.changes == events[step].get("changes", {})
    assert event.value == events[step].get("value")
    assert event.deleted == tuple(events[step].get("deleted", ()))


def check_against_brute_force(session: Session, events: list[dict], data) -> None:
    step = data.draw(st.integers(0, len(events) - 1))
    frame = events[step]["frame"]
    check_prefix_queries(session, events, step)
    same_frame_after = [r["step"] for r in events[step + 1:] if r["frame"] == frame]
    if same_frame_after:
        assert session.step_over(step) == same_frame_after[0]
    assert list(session.frame_steps(frame)) == [r["step"] for r in events if r["frame"] == frame]
    for name in ("a", "b", "c"):
        history = []
        for record in events:
            if record["frame"] == frame:
                if name in record.get("changes", {}):
                    history.append((record["step"], record["changes"][name]))
                if name in record.get("deleted", ()):
                    history.append((record["step"], None))
        assert session.history(name, frame) == history
    line = events[step]["line"]
    line_steps = [r["step"] for r in events if r["event"] == "line" and r["line"] == line]
    after = [s for s in line_steps if s > step]
    assert session.run_to_line(step, FILE, line) == (after[0] if after else None)
    assert session.hits(FILE, line) == len(line_steps)
    assert session.exception_steps() == [r["step"] for r in events if r["event"] == "exception"]
    loop = session._loop_around(step)
    position = session.loop_at(step)
    expected = None if loop is None else replay_loop(events, step, loop)
    got = None if position is None else (position.header_line, position.end_line, position.iteration,
                                         position.total, tuple(position.iteration_steps))
    assert got == expected
    if position is not None:
        i = position.iteration
        assert session.next_iteration(step) == (expected[4][i] if i < len(expected[4]) else None)
        assert session.prev_iteration(step) == (expected[4][i - 2] if i >= 2 else None)
    changed = [r["step"] for r in events if r.get("changes") or r.get("value") is not None]
    for text, whole_word in (("1", False), ("a", False), ("1", True), ("a", True), ("'a", True)):
        def mentions(s):
            return any(has(text, k, whole_word) or has(text, v, whole_word)
                       for k, v in events[s].get("changes", {}).items())
        hits = [s for s in changed if s > step and mentions(s)]
        assert session.search(text, step, whole_word=whole_word) == (hits[0] if hits else None)
        earlier = [s for s in changed if s < step and mentions(s)]
        assert session.search(text, step, backward=True, whole_word=whole_word) == (earlier[-1] if earlier else None)
    # the stack is the chain of open frames
    open_frames = []
    for record in events[: step + 1]:
        if record["event"] == "call":
            open_frames.append(record["frame"])
        if record["event"] == "return" and record["step"] < step:
            open_frames.remove(record["frame"])
    assert [f.frame for f in session.stack(step)] == open_frames


def has(text: str, string: str, whole_word: bool) -> bool:
    """The reference for search: ``text`` in ``string`` (``whole_word``: not inside a longer word)."""
    if not whole_word:
        return text in string
    import re

    before = r"(?<![\w\x80-\U0010ffff])" if re.match(r"[\w\x80-\U0010ffff]", text[:1]) else ""
    after = r"(?![\w\x80-\U0010ffff])" if re.match(r"[\w\x80-\U0010ffff]", text[-1:]) else ""
    return re.search(before + re.escape(text) + after, string, re.ASCII) is not None


def test_search_whole_word_is_not_part_of_a_longer_word():
    """A whole word: no word character just before (after) a ``text`` that begins (ends) with one;
    the string's own start and end count as boundaries, the neighbours in the table do not."""
    from duck.session_index import _strings_containing
    from duck.trace.binary import StringTable

    strings = ["s", "sum", "'s'", "xs", "[4, 5]", "42", "a_s", "é s", "ésé", "s.x", "", "s s"]
    table = StringTable(strings)
    for text in ("s", "4", "'s", "s'", "é", "x", "s s", "[4"):
        assert list(_strings_containing(table, text, True)) == [has(text, k, True) for k in strings], text
        assert list(_strings_containing(table, text)) == [text in k for k in strings], text
    assert list(_strings_containing(table, "s", True)) == [True, False, True, False, False, False, False, True,
                                                           False, True, False, True]


def test_search_matches_within_one_string_of_the_table():
    """A match is a string's own bytes: never across two neighbours of the table (with or without
    a separator between them), never a separator; the empty text is in every string."""
    from duck.session_index import _strings_containing
    from duck.trace.binary import StringTable

    table = StringTable(["ab", "cd", "é€x", ""])
    assert list(_strings_containing(table, "b")) == [True, False, False, False]
    assert list(_strings_containing(table, "bc")) == [False, False, False, False]
    assert list(_strings_containing(table, "€x")) == [False, False, True, False]
    assert list(_strings_containing(table, "")) == [True, True, True, True]
    trace = Trace(header=header(), events=[
        {"step": 0, "event": "call", "file": FILE, "line": 1, "func": "f", "depth": 0, "frame": 1, "parent": None,
         "changes": {"a": "xy"}},
        {"step": 1, "event": "line", "file": FILE, "line": 2, "func": "f", "depth": 0, "frame": 1, "parent": None,
         "changes": {"b": "zw"}},
        {"step": 2, "event": "return", "file": FILE, "line": 2, "func": "f", "depth": 0, "frame": 1, "parent": None,
         "value": "yz"}], sources={FILE: "pass\n"}, outcome={"outcome": "finished"})
    for form in ("memory", "v2"):
        session = session_in_format(trace, form)
        assert session.search("yz", 0) is None  # a return value, and across two values: neither is searched
        assert session.search("z", 0) == 1 and session.search("x", 2, backward=True) == 0
