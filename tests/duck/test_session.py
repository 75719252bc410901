"""Session queries against hand-written traces and, with hypothesis, a brute-force replay."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import tempfile
from pathlib import Path

import duck.session as session_module
from duck.session import Session
from duck.trace.binary import convert_to_v2, is_v2
from duck.trace.format import Trace, header

INDEX_AHEAD = session_module._INDEX_AHEAD

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


# ------------------------------------------------------------ property tests
@st.composite
def random_traces(draw):
    """Event streams shaped like real ones: nested calls, lines with changes, returns."""
    n = draw(st.integers(min_value=1, max_value=60))
    names = ["a", "b", "c"]
    events, stack, next_frame = [], [], 1
    for step in range(n):
        action = draw(st.sampled_from(["line", "line", "call", "return"]))
        if not stack or (action == "call" and len(stack) < 5):
            parent = stack[-1] if stack else None
            stack.append(next_frame)
            kind, frame = "call", next_frame
            next_frame += 1
        elif action == "return" and len(stack) > 1:
            kind, frame = "return", stack[-1]
        else:
            kind, frame = "line", stack[-1]
        parent = stack[-2] if len(stack) > 1 else None
        changes = {}
        for name in names:
            if draw(st.booleans()) and draw(st.booleans()):
                changes[name] = str(draw(st.integers(0, 3)))
        record = {"step": step, "event": kind, "file": FILE, "line": draw(st.integers(1, 8)),
                  "func": f"f{frame}", "depth": len(stack) - 1, "frame": frame, "parent": parent}
        if changes:
            record["changes"] = changes
        events.append(record)
        if kind == "return":
            stack.pop()
    return events


def replay_locals(events, upto, frame):
    state = {}
    for record in events[: upto + 1]:
        if record["frame"] == frame:
            state.update(record.get("changes", {}))
    return state


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


@settings(max_examples=150, deadline=None)
@given(random_traces(), st.data())
def test_session_agrees_with_brute_force_replay(events, data):
    form = data.draw(st.sampled_from(["memory", "v1", "v2"]))
    session = session_in_format(Trace(header=header(), events=events, sources={}, outcome={"outcome": "finished"}), form)
    session_module._INDEX_AHEAD = 1  # index only as far as each query needs: the answers must not depend on it
    try:
        check_against_brute_force(session, events, data)
    finally:
        session_module._INDEX_AHEAD = INDEX_AHEAD


def check_against_brute_force(session: Session, events: list[dict], data) -> None:
    step = data.draw(st.integers(0, len(events) - 1))
    frame = events[step]["frame"]
    assert session.locals_at(step) == replay_locals(events, step, frame)
    for name in ("a", "b", "c"):
        changed = [r["step"] for r in events[: step + 1] if r["frame"] == frame and name in r.get("changes", {})]
        assert session.last_change(name, step, frame=frame) == (changed[-1] if changed else None)
    same_frame_after = [r["step"] for r in events[step + 1:] if r["frame"] == frame]
    if same_frame_after:
        assert session.step_over(step) == same_frame_after[0]
    same_frame_before = [r["step"] for r in events[:step] if r["frame"] == frame]
    if same_frame_before:
        assert session.step_over(step, backward=True) == same_frame_before[-1]
    # the stack is the chain of open frames
    open_frames = []
    for record in events[: step + 1]:
        if record["event"] == "call":
            open_frames.append(record["frame"])
        if record["event"] == "return" and record["step"] < step:
            open_frames.remove(record["frame"])
    assert [f.frame for f in session.stack(step)] == open_frames
