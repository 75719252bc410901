"""The v2 writer (duck.trace.chunks): its C column code writes the bytes of its pure-Python fallback."""

from __future__ import annotations

from array import array

import pytest

from duck.trace import chunks
from duck.trace.binary import _read_events, Columns
from duck.trace.limits import Limits
from duck.trace.recorder import Recorder

from .test_store import _runs

needs_c = pytest.mark.skipif(chunks._C is None, reason="the C core is not built (or DUCK_PURE_PYTHON=1)")

WIDE = '''
def wide(n):
    values = {}
    for i in range(n):
        big = 1 << (i % 40)
        small = -big
        text = "s%d \\udc80 \\x1f" % (i % 300)
        values[i % 70000] = i
    return len(values)
'''


def _wide_runs(batch_size: int):
    namespace: dict = {}
    exec(compile(WIDE, "<wide>", "exec"), namespace)
    runs = []
    recorder = Recorder(lambda f: f == "<wide>", Limits(max_steps=10**7), batch_size=batch_size,
                        sink=lambda events, frames, outputs: runs.append((events, frames, dict(outputs))))
    recorder.start()
    try:
        namespace["wide"](3000)
    finally:
        recorder.stop()
    recorder.flush()
    return runs


def _both_ways(runs) -> tuple[list[bytes], list[bytes]]:
    fast, pure = chunks.ChunkWriter(), chunks.ChunkWriter(accelerated=False)
    return ([fast.events_chunk(*run) for run in runs], [pure.events_chunk(*run) for run in runs])


@needs_c
@pytest.mark.parametrize("batch_size", [7, 500, 8192])
def test_c_and_python_write_the_same_chunks(batch_size):
    for runs in (_runs(batch_size), _wide_runs(batch_size)):
        fast, pure = _both_ways(runs)
        assert len(fast) >= 1 and fast == pure
        columns = Columns()  # and the chunks read back
        for raw in fast:
            _read_events(columns, memoryview(raw)[chunks._CHUNK.size:])
        assert len(columns) == sum(len(events) for events, _, _ in runs)


@needs_c
def test_a_writer_that_forgets_its_strings_writes_them_again_the_same_way(monkeypatch):
    monkeypatch.setattr(chunks, "_DEDUPE_LIMIT", 50)
    fast, pure = _both_ways(_wide_runs(300))
    assert fast == pure


EDGES = [[], [0], [127], [128], [-128], [-129], [255], [256], [32767], [32768], [-32768], [-32769], [65535],
         [65536], [2**31 - 1], [-2**31], [5, -1, 300], list(range(-200, 200))]


@needs_c
@pytest.mark.parametrize("values", EDGES)
def test_c_columns_choose_the_widths_python_chooses(values):
    signed = array("i", values)
    assert chunks._C.encode_column(signed, True) == chunks._column(signed, True)
    if all(v >= 0 for v in values):
        unsigned = array("I", values)
        assert chunks._C.encode_column(unsigned, False) == chunks._column(unsigned, False)
    else:
        with pytest.raises(OverflowError):
            chunks._C.encode_column(signed, False)
    assert chunks._C.encode_column(array("I", [2**32 - 1]), False) == chunks._column(array("I", [2**32 - 1]))


@needs_c
def test_c_string_ids_number_new_strings_in_order_of_first_sight():
    ids, new = {"seen": 0}, []
    column, next_id = chunks._C.intern_column(ids, ["a", "seen", "b", "a", "\udc80", "b"], 1, new)
    assert (next_id, new) == (4, ["a", "b", "\udc80"])
    assert column == chunks._column(array("I", [1, 0, 2, 1, 3, 2]))
    assert ids == {"seen": 0, "a": 1, "b": 2, "\udc80": 3}
    with pytest.raises(TypeError):
        chunks._C.intern_column([], ["a"], 0, [])  # ids must be a dict
    assert chunks._C.intern_column({}, (), 0, []) == (b"\x01", 0)
