"""safe_repr: bounded, never raises, never hangs, marks cycles, no addresses."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given, strategies as st

from duck.trace import localdiff
from duck.trace.saferepr import safe_repr


@pytest.fixture
def user_repr():
    """``--user-repr``: the program's own __repr__ is called (contained)."""
    localdiff.set_user_repr(True)
    yield
    localdiff.set_user_repr(False)


class Point:
    pass


class Raises:
    def __repr__(self):
        raise KeyError("boom")


class Slow:
    def __repr__(self):
        while True:
            pass


class Huge:
    def __repr__(self):
        return "z" * 10_000_000


def test_short_values_are_their_repr():
    for value in [0, -3, 2.5, None, True, "it's", b"\x00", (1,), [], {}, set(), frozenset(), {1: [2, (3, "x")]},
                  collections.Counter("aab"), collections.namedtuple("T", "a b")(1, 2), 1j, range(3)]:
        assert safe_repr(value) == repr(value)


def test_no_memory_addresses():
    def inner():
        pass

    assert safe_repr(Point()) == "Point()"
    assert safe_repr(iter([])) == "<list_iterator object>"
    assert safe_repr(inner) == "<function test_no_memory_addresses.<locals>.inner>"
    assert safe_repr(len) == "<function len>"
    assert " at 0x" not in safe_repr([Point(), inner, object()])


def test_long_values_are_cut_at_the_limit():
    assert safe_repr("a" * 1000, 10) == "'aaaaaaaaa...<+990 chars>"
    big = list(range(10_000_000))
    text = safe_repr(big, 50)
    assert text.startswith("[0, 1, 2,") and text.endswith("...") and len(text) == 53
    assert len(safe_repr(Huge(), 100)) <= 100 + 20
    assert len(safe_repr({i: [Point()] * 3 for i in range(100_000)}, 100)) < 130


def test_raising_and_hanging_reprs(user_repr):
    assert safe_repr(Raises()) == "<repr raised KeyError: 'boom'>"
    assert safe_repr(Slow()) == "<repr timed out>"
    assert safe_repr([1, Raises()]) == "[1, <repr raised KeyError: 'boom'>]"


def test_cycles_are_marked_like_python():
    xs = [1, 2]
    xs.append(xs)
    d = {"k": 1}
    d["self"] = d
    assert safe_repr(xs) == repr(xs) == "[1, 2, [...]]"
    assert safe_repr(d) == repr(d)


def test_huge_int_does_not_raise():
    assert safe_repr(10 ** 5000).startswith("<repr raised ValueError")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=6) | st.tuples(inner, inner)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=5), max_leaves=40))
def test_matches_repr_when_it_fits_and_is_a_prefix_when_not(value):
    full = repr(value)
    text = safe_repr(value, 60)
    if len(full) <= 60:
        assert text == full
    else:
        assert text[:60] == full[:60] and "..." in text[60:]
