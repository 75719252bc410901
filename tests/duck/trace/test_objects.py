"""User objects: recorded by their attributes (structural repr), never by running the program's code.

Each program runs under plain python and under duck: the output and exit status must be the
same (issue 12, item 6). The structural form reads back with ``revive`` (item 5).
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import fractions
import subprocess
import sys

import pytest

from duck.trace import localdiff
from duck.trace.limits import Limits
from duck.trace.recorder import record_call
from duck.trace.saferepr import Opaque, Structure, object_attributes, revive, safe_repr

from .conftest import PROGRAMS

try:
    from duck.trace import _speedups
except ImportError:
    _speedups = None


def _plain_python(program: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, str(PROGRAMS / program)], capture_output=True, text=True, timeout=60)
    return done.stdout, done.returncode


@pytest.mark.parametrize("program", ["objects.py", "hostile_reprs.py", "alarm.py"])
def test_the_program_behaves_under_duck_as_under_python(run_program, program):
    outcome, trace = run_program(program)
    stdout = "".join(e.get("stdout", "") for e in trace.events)
    assert (stdout, outcome["exit_code"]) == _plain_python(program)
    assert outcome["outcome"] in ("finished", "exited")


def test_attributes_are_recorded_and_mutation_through_a_method_is_a_change(run_program):
    _, trace = run_program("objects.py")
    module = [e for e in trace.events if e["func"] == "<module>"]
    heads = [e["changes"]["head"] for e in module if "head" in e.get("changes", {})]
    assert heads[-2:] == ["Node(value=1, next=Node(value=2, next=Node(value=3, next=None)))",
                          "Node(value=10, next=Node(value=2, next=Node(value=3, next=None)))"]
    pairs = [e["changes"]["pair"] for e in module if "pair" in e.get("changes", {})]
    assert pairs[-1].startswith("Pair(left=Node(value=10") and pairs[-1].endswith("right='set')")
    accounts = [e["changes"]["account"] for e in module if "account" in e.get("changes", {})]
    assert accounts == ["Account(_balance=0)", "Account(_balance=5)"]


@pytest.mark.parametrize("user_repr", [False, True])
def test_user_repr_is_called_only_when_asked_and_then_contained(user_repr):
    """In process (``record_call``), without the ``Stubborn`` repr that not even --user-repr can stop."""
    code = (PROGRAMS / "hostile_reprs.py").read_text()
    recording = record_call(code, "use(stubborn=False)", limits=Limits(user_repr=user_repr))
    seen: dict = {}
    for e in recording.events:
        seen.update(e.get("changes", {}))
    assert seen["k"] == "<class '__duck_sample__.WithMeta'>"  # a metaclass's __repr__ is never called
    assert recording.exception is None and recording.value.endswith(", 7)")
    if not user_repr:
        assert recording.value == "(0, 7)" and recording.stdout == ""
        assert (seen["c"], seen["e"], seen["p"]) == ("Counting(n=2)", "Exits()", "Spins()")
        return
    assert seen["c"] == "Counting" and "Counting.__repr__ ran" in recording.stdout
    assert seen["e"] == "<repr raised SystemExit: 7>" and seen["i"] == "<repr raised KeyboardInterrupt>"
    assert seen["p"] == "<repr timed out>"


class Node:
    def __init__(self, value, next=None):
        self.value = value
        self.next = next

    def __repr__(self):
        raise AssertionError("the program's __repr__ ran")


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a


class Sneaky:
    """Every way an attribute read could run the program's code."""

    def __init__(self):
        self.x = 1

    @property
    def y(self):
        raise AssertionError("a property ran")

    def __getattr__(self, name):
        raise AssertionError("__getattr__ ran")

    def __getattribute__(self, name):
        raise AssertionError("__getattribute__ ran")

    def __eq__(self, other):
        raise AssertionError("__eq__ ran")

    __hash__ = object.__hash__


@dataclasses.dataclass
class Point:
    x: int
    y: list


class Color(enum.Enum):
    RED = 1


def test_structural_reprs_and_known_value_types():
    ring = Node(1, Node(2))
    ring.next.next = ring
    assert safe_repr(ring) == "Node(value=1, next=Node(value=2, next=Node(...)))"
    assert safe_repr(Slotted(3)) == "Slotted(a=3)"
    assert safe_repr(Sneaky()) == "Sneaky(x=1)"
    assert safe_repr(Point(1, [Node(2)])) == "Point(x=1, y=[Node(value=2, next=None)])"
    assert safe_repr(Color.RED) == repr(Color.RED)
    T = collections.namedtuple("T", "a b")
    for value in [T(1, "x"), fractions.Fraction(1, 3), collections.Counter("abb"), collections.deque([1], 3),
                  collections.defaultdict(list, a=[1]), collections.OrderedDict(a=1), ValueError("m", 2)]:
        assert safe_repr(value) == repr(value)
    assert safe_repr(collections.deque([Node(1)])) == "deque([Node(value=1, next=None)])"
    assert object_attributes(Slotted(1)) == [("a", 1)]
    long = safe_repr(Node(1, Node(2, Node(3, Node(4)))), 30)
    assert long.startswith("Node(value=1, next=Node(") and long.endswith("...")


def test_revive_reads_structures_opaque_parts_and_cut_reprs():
    node = revive("Node(value=3, next=Node(value=4, next=None))")
    assert node == Structure("Node", {"value": 3, "next": Structure("Node", {"value": 4, "next": None})})
    assert repr(node) == "Node(value=3, next=Node(value=4, next=None))"
    assert revive("[1, (2,), {'a': -1.5}, {3}, frozenset({4}), (1+2j), b'x']") == [
        1, (2,), {"a": -1.5}, {3}, frozenset({4}), 1 + 2j, b"x"]
    assert revive("[<function f>, Decimal('1.5'), Node(...)]") == [
        Opaque("<function f>"), Opaque("Decimal('1.5')"), Opaque("Node(...)")]
    with pytest.raises(ValueError):
        revive("[1, 2, 345...<+10 chars>")
    assert revive("[1, 2, 345...<+10 chars>", partial=True) == ([1, 2], False)  # 345 may have lost digits
    value, complete = revive("Node(value=1, next=Node(value=2, ne...", partial=True)
    assert not complete and value.attrs["value"] == 1 and value.attrs["next"].attrs == {"value": 2}
    for bad in ["", "Node(value=", "import os", "[1 2]", "f(x=1"]:
        with pytest.raises(ValueError):
            revive(bad)


@pytest.mark.parametrize("make", ["python", pytest.param("c", marks=pytest.mark.skipif(_speedups is None,
                                                                                       reason="_speedups not built"))])
def test_attribute_mutation_is_caught_by_both_diffs(make):
    if make == "c":
        localdiff._load_speedups()
        diff = _speedups.diff_locals
    else:
        diff = localdiff.diff_locals_py
    snap: dict = {}

    def changes(f_locals):
        names, texts = [], []
        result = diff(snap, f_locals, False, 200, names, texts)
        assert (result if type(result) is int else result[0]) == len(names)
        return dict(zip(names, texts))

    node, pair = Node(1), Slotted(1)
    assert changes({"node": node, "pair": pair}) == {"node": "Node(value=1, next=None)", "pair": "Slotted(a=1)"}
    assert changes({"node": node, "pair": pair}) == {}
    assert snap["node"][2] is not None  # fixed attributes: a fingerprint, not a repr, says "unchanged"
    node.value = 2
    pair.b = "x"
    assert changes({"node": node, "pair": pair}) == {"node": "Node(value=2, next=None)", "pair": "Slotted(a=1, b='x')"}
    del pair.a
    del node.next
    assert changes({"node": node, "pair": pair}) == {"node": "Node(value=2)", "pair": "Slotted(b='x')"}
    inner = [1]
    node.next = inner
    assert changes({"node": node, "pair": pair}) == {"node": "Node(value=2, next=[1])"}
    inner.append(2)  # a list inside the object: its length and items are part of the fingerprint
    assert changes({"node": node, "pair": pair}) == {"node": "Node(value=2, next=[1, 2])"}
    ps = [Node(i) for i in range(3)]
    ring = Node(0)
    ring.next = Node(1, ring)
    assert changes({"ps": ps, "ring": ring}) == {
        "ps": "[Node(value=0, next=None), Node(value=1, next=None), Node(value=2, next=None)]",
        "ring": "Node(value=0, next=Node(value=1, next=Node(...)))"}
    assert changes({"ps": ps, "ring": ring}) == {}
    assert snap["ps"][2] is not None and snap["ring"][2] is not None  # nested objects: still a fingerprint
    ps[2].value = 20
    ring.next.value = 10
    assert changes({"ps": ps, "ring": ring}) == {
        "ps": "[Node(value=0, next=None), Node(value=1, next=None), Node(value=20, next=None)]",
        "ring": "Node(value=0, next=Node(value=10, next=Node(...)))"}
    ps[0].next = ps[1]  # the same object shown twice
    ps[1].value = 1000
    assert changes({"ps": ps, "ring": ring})["ps"].startswith("[Node(value=0, next=Node(value=1000, next=None)), Node(value=1000")


def _flat(**attrs):
    node = Node(0)
    del node.value, node.next
    node.__dict__.update(attrs)
    return node


@pytest.mark.skipif(_speedups is None, reason="_speedups not built")
@pytest.mark.parametrize("value", [Node(1, Node(2)), Slotted(1), Sneaky, Point(1, [2]), Color.RED, iter([]),
                                   [Node(1)] * 3, {"k": Slotted(2)}, ValueError("x", Node(1)), Node(1.5, "it's"),
                                   _flat(a="x" * 150, b=2), _flat(a="x" * 300), _flat(**{f"a{i}": i for i in range(40)}),
                                   _flat(big=10 ** 5000), _flat(b=b"x", n=None, e=..., c=1j), _flat()],
                         ids=lambda value: type(value).__name__)
def test_c_safe_repr_of_objects_equals_safe_repr(value):
    """The C repr of flat objects (all attributes scalars or str) and the fallback for the others, at several limits."""
    localdiff._load_speedups()
    value = Sneaky() if value is Sneaky else value  # pytest reads attributes of parameters
    localdiff.classify(type(value))
    for limit in (5, 30, 60, 200):
        assert _speedups.safe_repr(value, limit) == safe_repr(value, limit)


def test_the_user_repr_flag_reaches_the_limits():
    import argparse

    from duck.commands.common import add_limit_arguments, limits_from_args

    parser = argparse.ArgumentParser()
    add_limit_arguments(parser)
    assert limits_from_args(parser.parse_args([])).user_repr is False
    assert limits_from_args(parser.parse_args(["--user-repr"])).user_repr is True
    assert Limits.from_dict(Limits(user_repr=True).to_dict()).user_repr is True  # as the child reads it
