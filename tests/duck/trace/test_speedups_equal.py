"""The C core records what the pure-Python path records, and its per-step work is bounded by the repr limit.

- the C walk of nested containers and structural objects writes ``saferepr.safe_repr``'s text,
  on generated values (hypothesis);
- the C fingerprint equals ``localdiff.fingerprint`` and its in-place check agrees with ``_same``;
- a value nested 1,000 or 5,000 deep costs the fingerprint and the repr the same work as one
  nested 300 deep (counted in parts and in walk calls, not timed);
- every CRUXEval function (../shared/data) records the same events, value and exception on both
  paths, and on the C path with frames read through the public API only (``set_fast_locals``).
"""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings, strategies as st

from duck.trace import localdiff, recorder as recorder_module, saferepr
from duck.trace.limits import Limits
from duck.trace.recorder import record_call
from duck.trace.saferepr import safe_repr

from tests.shared_data import CRUXEVAL, require

try:
    from duck.trace import _speedups
except ImportError:  # not built for this interpreter
    _speedups = None

needs_c = pytest.mark.skipif(_speedups is None, reason="_speedups not built")


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Pair:
    __slots__ = ("left", "right")

    def __init__(self, left, right=None):
        self.left = left
        if right is not None:
            self.right = right


class Token:  # no attributes: <Token object>
    __slots__ = ()


class Loud:  # a __repr__ of the program's: written structurally, never called
    def __init__(self, v):
        self.v = v

    def __repr__(self):
        raise AssertionError("called")


scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.booleans(), st.none(),
                    st.text(max_size=40), st.binary(max_size=20), st.just(10**400))


def _objects(children):
    return st.one_of(
        st.builds(Point, children, children),
        st.builds(Pair, children, st.one_of(st.none(), children)),
        st.builds(Loud, children),
        st.builds(Token),
    )


values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=8), st.lists(children, max_size=5).map(tuple),
    st.dictionaries(st.one_of(st.integers(), st.text(max_size=8)), children, max_size=5),
    _objects(children)), max_leaves=40)


def _configured():
    localdiff._load_speedups()  # configures the module (other tests configure it without the object tables)
    for t in (Point, Pair, Token, Loud):
        saferepr.repr_kind(t)
        localdiff.classify(t)


@needs_c
@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.sampled_from([1, 5, 12, 40, 200]))
def test_c_walk_writes_safe_repr(value, limit):
    _configured()
    assert _speedups.safe_repr(value, limit) == safe_repr(value, limit)
    as_list = [value, value]  # the same object twice: written twice (only an object inside itself is cut)
    assert _speedups.safe_repr(as_list, limit) == safe_repr(as_list, limit)


@needs_c
def test_c_walk_handles_objects_and_cycles_itself():
    """The walk does not just hand everything to safe_repr: it answers for nested objects and cycles."""
    _configured()
    ring = [Point(1, 2.5), Pair(Token(), "s"), {"k": (1,)}]
    ring.append(ring)
    node = Point(None, None)
    node.x = node
    for value in (ring, [node, Pair(3)], [Loud([1, 2])]):
        text = _speedups.flat_safe_repr(value, 200)  # None where the C walk gave up
        assert text is not None and text == safe_repr(value, 200)
    assert _speedups.flat_safe_repr(ring, 200).endswith("[...]]")
    assert _speedups.flat_safe_repr([Loud(1)], 200) == "[Loud(v=1)]"


@needs_c
@settings(max_examples=200, deadline=None)
@given(value=values, k=st.sampled_from([3, 20, 80]))
def test_c_fingerprint_equals_python_and_sees_in_place_changes(value, k):
    _configured()
    t = type(value)
    fp = _speedups.fingerprint(value, k)
    assert fp == localdiff.fingerprint(value, t, k)
    if fp is None:
        return
    assert _speedups.same_fingerprint(value, fp, k) and localdiff._same(value, t, fp, k)
    if isinstance(value, list) and value:
        value[0] = object()  # a part the fingerprint covers (the first item)
        assert not _speedups.same_fingerprint(value, fp, k)
        assert not localdiff._same(value, t, fp, k)
    elif isinstance(value, Point):
        value.y = [value.y]  # covered or not, depending on the room: both paths agree
        assert _speedups.same_fingerprint(value, fp, k) == localdiff._same(value, t, fp, k)


def _nested(depth: int) -> list:
    x: list = []
    for _ in range(depth):
        x = [x]
    return x


def test_a_deep_value_costs_the_fingerprint_and_the_repr_bounded_work():
    """Work is counted (parts, walk calls), not timed: 300, 1,000 and 5,000 levels cost the same."""
    _configured()
    k = (200 + 32) // 3 + 3  # what the diff uses for the default repr limit
    fingerprints = {d: localdiff.fingerprint(_nested(d), list, k) for d in (300, 1000, 5000)}
    sizes = {d: len(fp) for d, fp in fingerprints.items()}
    assert len(set(sizes.values())) == 1 and sizes[300] <= 2 * 3 * k + 2, sizes  # a list and its length per level
    if _speedups is not None:
        for d, fp in fingerprints.items():
            value = _nested(d)
            assert len(_speedups.fingerprint(value, k)) == sizes[d]
            assert not _speedups.same_fingerprint(value, fp, k)  # another object at the top: differs at once
    calls = {}
    for d in (300, 1000, 5000):
        value = _nested(d)
        count = 0

        def profile(frame, event, arg):
            nonlocal count
            if event == "call" and frame.f_code.co_filename == saferepr.__file__:
                count += 1

        sys.setprofile(profile)
        try:
            text = safe_repr(value, 200)
        finally:
            sys.setprofile(None)
        calls[d] = count
        assert text == "[" * 200 + "..."
    assert calls[300] == calls[1000] == calls[5000], calls


@pytest.mark.parametrize("compiled", [pytest.param(True, marks=needs_c), False], ids=["c", "python"])
def test_a_change_deep_inside_a_nested_value_is_seen(compiled):
    """A value nested 300 deep shows 200 levels (one bracket each): a change at level 150 is a change."""
    _configured()
    diff = _speedups.diff_locals if compiled else localdiff.diff_locals_py
    value = _nested(300)
    snap: dict = {}
    diff(snap, {"v": value}, False, 200, [], [])
    inner = value
    for _ in range(149):
        inner = inner[0]
    inner[0] = 5
    names, texts = [], []
    diff(snap, {"v": value}, False, 200, names, texts)
    assert names == ["v"] and texts == [safe_repr(value, 200)] and "5]]" in texts[0]


def test_a_deep_value_in_scope_is_diffed_with_bounded_work(monkeypatch):
    """The recorder's diff of a frame holding a 5,000-deep list compares a bounded fingerprint per step."""
    seen = []
    real = localdiff.fingerprint

    def counting(value, t, k):
        fp = real(value, t, k)
        seen.append(0 if fp is None else len(fp))
        return fp

    monkeypatch.setattr(localdiff, "fingerprint", counting)
    monkeypatch.setattr(recorder_module, "diff_locals", localdiff.diff_locals_py)
    monkeypatch.setattr(recorder_module, "speedups", None)
    code = "def f(v):\n    t = 0\n    for i in range(5):\n        t += i\n    return t\n"
    rec = record_call(code, "f(v)", extra_globals={"v": _nested(5000)})
    assert rec.value == "10" and len(rec.events) > 10
    assert rec.events[0]["changes"]["v"] == "[" * 200 + "..."
    assert len(seen) >= len(rec.events) - 1 and max(seen) <= 2 * 3 * ((200 + 32) // 3 + 3) + 2


@needs_c
def test_every_cruxeval_function_records_the_same_events_on_both_paths(monkeypatch):
    require(CRUXEVAL)
    path = CRUXEVAL
    samples = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(samples) == 800
    limits = Limits(max_steps=20_000)
    localdiff._load_speedups()
    compiled = [record_call(s["code"], f"f({s['input']})", limits=limits) for s in samples]
    assert compiled[0].tracer and recorder_module.speedups is not None
    was = _speedups.set_fast_locals(False)  # the C core through the public frame API only
    try:
        public = [record_call(s["code"], f"f({s['input']})", limits=limits) for s in samples]
    finally:
        _speedups.set_fast_locals(was)
    for sample, c, p in zip(samples, compiled, public):
        assert (c.events, c.value, c.exception) == (p.events, p.value, p.exception), sample["id"]
    monkeypatch.setattr(recorder_module, "diff_locals", localdiff.diff_locals_py)
    monkeypatch.setattr(recorder_module, "speedups", None)
    steps = 0
    for sample, c in zip(samples, compiled):
        pure = record_call(sample["code"], f"f({sample['input']})", limits=limits)
        assert c.events == pure.events, sample["id"]
        assert (c.value, c.exception, c.stopped_by) == (pure.value, pure.exception, pure.stopped_by), sample["id"]
        steps += len(pure.events)
    assert steps > 10_000
