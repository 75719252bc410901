"""Trace format v2: the same events as v1, both ways, and what a killed or torn recording keeps."""

from __future__ import annotations

import json

import pytest

from duck.session import Session
from duck.trace import binary
from duck.trace.format import TraceFormatError, read_trace
from duck.trace.limits import Limits
from duck.trace.runner import RecordRequest, record

from .conftest import PROGRAMS

PROGRAMS_WITH_EVERYTHING = ["average.py", "mutate.py", "objects.py", "gen.py", "recursion.py", "reprs.py",
                            "hostile_reprs.py", "reads_stdin.py", "crash.py", "bigprint.py"]


def recorded(tmp_path, name: str, form: int, **limits):
    path = tmp_path / f"{name}.v{form}.trace"
    record(RecordRequest(script=PROGRAMS / name, stdin="12\n", format=form, limits=Limits(**{"timeout_s": 60, **limits})), path)
    return path


def without_duration(outcome: dict) -> dict:
    return {k: v for k, v in outcome.items() if k != "duration_s"}


@pytest.mark.parametrize("name", PROGRAMS_WITH_EVERYTHING)
def test_v1_to_v2_to_v1_gives_the_same_trace(tmp_path, name):
    v1 = recorded(tmp_path, name, 1)
    assert not binary.is_v2(v1)
    binary.convert_to_v2(v1, tmp_path / "b.trace")
    assert binary.is_v2(tmp_path / "b.trace")
    binary.convert_to_v1(tmp_path / "b.trace", tmp_path / "c.trace")
    first, back = read_trace(v1), read_trace(tmp_path / "c.trace")
    assert back.events == first.events and len(first.events) > 2
    assert back.sources == first.sources and back.outcome == first.outcome
    assert back.header == first.header
    assert (tmp_path / "b.trace").stat().st_size < v1.stat().st_size


@pytest.mark.parametrize("name", ["average.py", "objects.py", "hostile_reprs.py", "bigprint.py"])
def test_the_child_writes_v2_with_the_events_it_writes_in_v1(tmp_path, name):
    v1, v2 = recorded(tmp_path, name, 1), recorded(tmp_path, name, 2)
    assert binary.is_v2(v2)
    a, b = read_trace(v1), read_trace(v2)
    assert a.events == b.events
    assert without_duration(a.outcome) == without_duration(b.outcome) and a.sources == b.sources
    assert b.header["version"] == 2 and a.header["version"] == 1
    assert Session.load(v2).event(len(b.events) - 1) == Session.load(v1).event(len(a.events) - 1)


def test_strings_with_the_separator_are_kept_whole(tmp_path):
    program = tmp_path / "sep.py"
    program.write_text('x = "a\\x1fb"\ny = x + "\\x1f"\nz = {"\\x1f": 1}\n')
    v2 = tmp_path / "t.trace"
    record(RecordRequest(script=program, stdin=None), v2)
    values = [e.get("changes") for e in read_trace(v2).events if e.get("changes")]
    assert {"x": "'a\\x1fb'"} in values  # the repr escapes it; a raw one goes the length-prefixed way
    strings = binary.StringTable()
    raw = binary._strings(["a\x1fb", "", "c"])
    assert raw[0] == 1
    binary._read_strings(strings, memoryview(raw), 0, 3)
    assert strings == ["a\x1fb", "", "c"]


def test_a_torn_last_chunk_is_left_out_and_the_rest_read(tmp_path):
    v2 = recorded(tmp_path, "average.py", 2)
    whole = binary.read_columns(v2)
    data = v2.read_bytes()
    chunks = list(binary.iter_chunks(data))
    events_end = max(end for tag, _payload, end in chunks if tag == b"EVTS")
    (tmp_path / "torn.trace").write_bytes(data[:events_end - 3])
    torn = binary.read_columns(tmp_path / "torn.trace")
    assert len(torn) < len(whole) and not torn.outcome
    session = Session.load(tmp_path / "torn.trace")
    assert session.outcome["limit"] == "interrupted"
    assert [session.event(i) for i in range(len(session))] == [Session.load(v2).event(i) for i in range(len(session))]


def test_a_killed_recording_keeps_its_complete_chunks(tmp_path):
    """The child is stopped by the wall-time limit while it loops: the parent appends sources and outcome."""
    v2 = recorded(tmp_path, "infinite.py", 2, timeout_s=3.0, max_steps=10**9)  # the timeout, not the step cap
    trace = read_trace(v2)
    assert trace.outcome["outcome"] == "limit" and trace.outcome["limit"] == "timeout"
    assert len(trace.events) > 100 and trace.sources
    assert [e["step"] for e in trace.events] == list(range(len(trace.events)))


def test_the_parent_cuts_a_torn_chunk_before_appending(tmp_path):
    from duck.trace.runner import _finish_trace

    v2 = tmp_path / "loop.trace"
    record(RecordRequest(script=loop_program(tmp_path), stdin=None), v2)
    data = v2.read_bytes()
    ends = [end for tag, _payload, end in binary.iter_chunks(data) if tag == b"EVTS"]
    assert len(ends) > 1
    v2.write_bytes(data[:ends[-1] - 5])
    _finish_trace(v2, {}, None, {"outcome": "exited", "steps": 0, "message": "killed"})
    trace = read_trace(v2)
    assert trace.outcome["message"] == "killed"
    assert list(trace.sources) == [str(tmp_path / "loop.py")]  # the files named by the chunks that were whole
    assert len(trace.events) >= 8192


def test_v1_and_unknown_versions(tmp_path):
    v1 = recorded(tmp_path, "average.py", 1)
    assert Session.load(v1).event(3) == Session.load(recorded(tmp_path, "average.py", 2)).event(3)
    bad = tmp_path / "v3.trace"
    bad.write_bytes(binary.MAGIC + binary.json_chunk(b"HEAD", {"format": "duck-trace", "version": 3}))
    with pytest.raises(TraceFormatError, match="version 3"):
        binary.read_columns(bad)
    skipped = tmp_path / "extra.trace"
    data = recorded(tmp_path, "average.py", 2).read_bytes()
    skipped.write_bytes(data[:len(binary.MAGIC)] + binary.chunk(b"XTRA", b"later") + data[len(binary.MAGIC):])
    assert len(Session.load(skipped)) == len(Session.load(tmp_path / "average.py.v2.trace"))


def loop_program(folder):
    program = folder / "loop.py"
    program.write_text("def f(i):\n    s = i * i\n    return s % 7\n\nt = 0\nfor i in range(3000):\n    t += f(i)\n")
    return program


def test_typical_programs_take_at_most_16_bytes_a_step(tmp_path):
    v2 = tmp_path / "loop.trace"
    result = record(RecordRequest(script=loop_program(tmp_path), stdin=None), v2)
    assert result.steps > 10000
    assert v2.stat().st_size / result.steps <= 16
    assert json.loads(json.dumps(read_trace(v2).outcome))["steps"] == result.steps


def test_the_string_table_reads_back_every_chunk_and_finds_the_value_name():
    from duck.trace.store import VALUE

    strings = binary.StringTable()
    first = binary._strings([VALUE, "é", ""])  # mode 0: one text, separated
    second = binary._strings(["x\x1fy", "z", VALUE])  # mode 1: lengths, then the bytes
    pos, value = binary._read_strings(strings, memoryview(first), 0, 3)
    assert (pos, value) == (len(first), 0)
    pos, value = binary._read_strings(strings, memoryview(second), 0, 3)
    assert (pos, value) == (len(second), 5)
    assert list(strings) == [VALUE, "é", "", "x\x1fy", "z", VALUE] and len(strings) == 6
    assert strings[-1] == VALUE and strings[3] == "x\x1fy"
    assert binary._read_strings(strings, memoryview(binary._strings([])), 0, 0)[1] is None and len(strings) == 6
