"""The per-event diff of a frame's locals, in both implementations (C and pure Python), and the compact store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from duck.trace import localdiff, recorder as recorder_module
from duck.trace.limits import Limits
from duck.trace.recorder import record_call
from duck.trace.saferepr import safe_repr

try:
    from duck.trace import _speedups
except ImportError:  # not built for this interpreter: only the pure-Python path is tested here
    _speedups = None

REPO = Path(__file__).resolve().parents[3]


def _c_diff():
    _speedups.configure(safe_repr, localdiff.stable_types, localdiff.classify)
    return _speedups.diff_locals


IMPLEMENTATIONS = [
    pytest.param(lambda: localdiff.diff_locals_py, id="python"),
    pytest.param(_c_diff, id="c", marks=pytest.mark.skipif(_speedups is None, reason="_speedups not built")),
]


class Diff:
    """Drives one implementation like the recorder does and answers what it reported."""

    def __init__(self, impl, limit: int = 200, module: bool = False) -> None:
        self.impl, self.limit, self.module = impl, limit, module
        self.snap: dict = {}

    def __call__(self, f_locals) -> tuple[dict, list]:
        names, texts = [], []
        result = self.impl(self.snap, f_locals, self.module, self.limit, names, texts)
        count, deleted = (result, []) if type(result) is int else result
        assert count == len(names) == len(texts)
        return dict(zip(names, texts)), deleted


@pytest.mark.parametrize("make", IMPLEMENTATIONS)
def test_new_changed_mutated_and_deleted_locals(make):
    diff = Diff(make())
    xs = [1, 2]
    d = {"a": 1}
    assert diff({"x": 1, "xs": xs, "d": d}) == ({"x": "1", "xs": "[1, 2]", "d": "{'a': 1}"}, [])
    assert diff({"x": 1, "xs": xs, "d": d}) == ({}, [])
    xs.append(3)
    d["a"] = 2
    assert diff({"x": 1, "xs": xs, "d": d}) == ({"xs": "[1, 2, 3]", "d": "{'a': 2}"}, [])
    xs[0] = 1.0  # equal to 1, but a different repr
    assert diff({"x": True, "xs": xs}) == ({"x": "True", "xs": "[1.0, 2, 3]"}, ["d"])
    xs[0] = -0.0
    assert diff({"x": True, "xs": xs}) == ({"xs": "[-0.0, 2, 3]"}, [])


@pytest.mark.parametrize("make", IMPLEMENTATIONS)
def test_module_frames_leave_out_dunder_names(make):
    diff = Diff(make(), module=True)
    assert diff({"__name__": "__main__", "__builtins__": __builtins__, "y": 2}) == ({"y": "2"}, [])
    assert diff({"__name__": "__main__"}) == ({}, ["y"])


@pytest.mark.parametrize("make", IMPLEMENTATIONS)
def test_values_past_the_visible_head_and_nested_mutation(make):
    diff = Diff(make(), limit=20)
    long = list(range(100))
    nested = [[1], [2]]
    first, _ = diff({"long": long, "nested": nested})
    assert first["long"] == safe_repr(long, 20)
    long[99] = -1  # beyond what the bounded repr shows: the repr is the same, so no change
    assert diff({"long": long, "nested": nested}) == ({}, [])
    long[0] = -1
    nested[0].append(5)  # an inner list: no fingerprint, so it is repr'd again and caught
    changes, _ = diff({"long": long, "nested": nested})
    assert changes == {"long": safe_repr(long, 20), "nested": "[[1, 5], [2]]"}


class Loud:
    def __init__(self) -> None:
        self.n = 0

    def __repr__(self) -> str:
        return f"Loud({self.n})"


class Plain:
    """No __repr__: written with its attributes (``Plain()``, ``Plain(a=1)``); lists of them get a fingerprint."""


LOUD = Loud()  # shared by every container it is put in; the "loud" step changes its repr everywhere
SHARED = Plain()  # an object whose attributes the "attr" step sets: its structural repr changes everywhere

values = st.one_of(
    st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, True, False, None, "a", "", b"a", 1j, LOUD, SHARED]),
    st.text(max_size=3), st.builds(Plain),
)


@pytest.mark.parametrize("make", IMPLEMENTATIONS)
@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["set", "append", "item", "dict", "del", "loud", "tuple", "attr"]),
                              st.sampled_from("abc"), values), max_size=25))
def test_reported_changes_are_exactly_the_changed_safe_reprs(make, ops):
    """Against a brute-force oracle: a local is reported iff its safe repr differs from the last one reported."""
    diff = Diff(make(), limit=12)
    localdiff.classify(Plain)
    f_locals: dict = {}
    shown: dict[str, str] = {}
    for op, name, value in ops:
        current = f_locals.get(name)
        if op == "set":
            f_locals[name] = value
        elif op == "append":
            if type(current) is list:
                current.append(value)
            else:
                f_locals[name] = [value]
        elif op == "item":
            if type(current) is list and current:
                current[len(current) // 2] = value
            else:
                f_locals[name] = [value, value]
        elif op == "dict":
            if type(current) is dict:
                current[str(value)[:1]] = value
            else:
                f_locals[name] = {"k": value}
        elif op == "del":
            f_locals.pop(name, None)
        elif op == "loud":
            LOUD.n += 1
        elif op == "attr":
            setattr(SHARED, name, value)
        else:
            f_locals[name] = (value, [value]) if value != 0 else (value,)
        changes, deleted = diff(dict(f_locals))
        expected = {k: safe_repr(v, 12) for k, v in f_locals.items() if shown.get(k) != safe_repr(v, 12)}
        assert changes == expected
        assert sorted(deleted) == sorted(k for k in shown if k not in f_locals)
        shown = {k: safe_repr(v, 12) for k, v in f_locals.items()}


SAMPLE = """
def f(n):
    xs = []
    seen = {}
    for i in range(n):
        xs.append(i * i)
        seen[i % 3] = xs[-1]
        if i == 2:
            del seen[0]
    return xs, seen
"""


@pytest.mark.skipif(_speedups is None, reason="_speedups not built")
def test_both_implementations_record_the_same_events(monkeypatch):
    compiled = record_call(SAMPLE, "f(6)")
    monkeypatch.setattr(recorder_module, "diff_locals", localdiff.diff_locals_py)
    monkeypatch.setattr(recorder_module, "speedups", None)  # no compiled line path either
    pure = record_call(SAMPLE, "f(6)")
    assert compiled.events == pure.events and len(pure.events) > 20
    assert [e["changes"]["xs"] for e in pure.events if "xs" in e.get("changes", {})][:3] == ["[]", "[0]", "[0, 1]"]


@pytest.mark.skipif(_speedups is None, reason="_speedups not built")
@pytest.mark.parametrize("program", ["mutate.py", "gen.py", "crash.py"])
def test_a_child_records_the_same_trace_with_and_without_the_c_core(run_program, program):
    """Through the real child interpreter: DUCK_PURE_PYTHON=1 gives the same events as the compiled path."""
    _, compiled = run_program(program)
    _, pure = run_program(program, env={**os.environ, "DUCK_PURE_PYTHON": "1"})
    assert compiled.events == pure.events and compiled.outcome["outcome"] == pure.outcome["outcome"]


def test_the_implementation_is_picked_at_import_and_can_be_forced_to_python():
    code = "from duck.trace import localdiff; print(localdiff.IMPLEMENTATION)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    forced = subprocess.run([sys.executable, "-c", code], env={**env, "DUCK_PURE_PYTHON": "1"},
                            capture_output=True, text=True, check=True)
    assert forced.stdout.strip() == "python"
    default = subprocess.run([sys.executable, "-c", code], env={k: v for k, v in env.items() if k != "DUCK_PURE_PYTHON"},
                             capture_output=True, text=True, check=True)
    assert default.stdout.strip() == ("c" if _speedups is not None else "python")


def test_the_store_holds_few_bytes_per_step_and_events_survive_packing():
    """A long loop kept in memory (record_call keeps every event) costs tens of bytes per step."""
    code = "def f(n):\n    total = 0\n    for i in range(n):\n        total += i % 7\n    return total\n"
    rec = recorder_module.Recorder(lambda f: f == "<mem>", Limits(max_steps=10**7))
    namespace: dict = {}
    exec(compile(code, "<mem>", "exec"), namespace)
    rec.start()
    try:
        namespace["f"](20000)
    finally:
        rec.stop()
    rec.flush()
    assert rec.steps == 40005 and len(rec.runs) >= 4
    stored = sum(run.nbytes() for run in rec.runs)
    assert stored / rec.steps < 50
    events = rec.all_events()
    assert [e["step"] for e in events] == list(range(rec.steps))
    assert events[-1]["event"] == "return" and events[-1]["value"] == repr(sum(i % 7 for i in range(20000)))
    assert [e.get("changes") for e in events[3:7]] == [{"i": "0"}, None, {"i": "1"}, {"total": "1"}]


flat_items = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.text(max_size=40),
                       st.sampled_from([1j, ..., NotImplemented, b"x", (1,)]))


@pytest.mark.skipif(_speedups is None, reason="_speedups not built")
@settings(max_examples=150, deadline=None)
@given(value=st.one_of(st.lists(flat_items, max_size=120), st.lists(flat_items, max_size=90).map(tuple),
                       st.dictionaries(st.one_of(st.integers(), st.text(max_size=30)), flat_items, max_size=60)),
       limit=st.sampled_from([1, 5, 12, 40, 200]))
def test_c_repr_of_flat_containers_equals_safe_repr(value, limit):
    text = _speedups.flat_safe_repr(value, limit)
    if text is not None:  # None: not flat (bytes, nested), left to safe_repr
        assert text == safe_repr(value, limit)


@pytest.mark.parametrize("compiled", [pytest.param(True, marks=pytest.mark.skipif(_speedups is None, reason="not built")),
                                      False], ids=["c", "python"])
def test_the_step_limit_stops_a_loop_on_the_exact_step(monkeypatch, compiled):
    if not compiled:
        monkeypatch.setattr(recorder_module, "diff_locals", localdiff.diff_locals_py)
        monkeypatch.setattr(recorder_module, "speedups", None)
    rec = record_call("def spin():\n    i = 0\n    while True:\n        i += 1\n", "spin()",
                      limits=Limits(max_steps=10_001))
    assert rec.stopped_by == "max_steps" and rec.exception[0] == "StepLimitReached"
    assert len(rec.events) == 10_001 and rec.events[-1]["step"] == 10_000
    assert rec.events[-1]["changes"] == {"i": "4999"}  # step 2k + 2 runs the while with i == k


@pytest.mark.skipif(_speedups is None, reason="_speedups not built")
@pytest.mark.parametrize("value", [0, -7, 10**5000, 1.5, True, None, "x" * 10, "x" * 500, "\x00'\"", [1, 2], (1,),
                                   {"a": [1]}, list(range(300)), Plain(), LOUD, b"bytes", {1, 2}],
                         ids=lambda value: type(value).__name__)
def test_c_safe_repr_equals_safe_repr(value):
    _c_diff()  # configures the module
    for limit in (5, 200):
        assert _speedups.safe_repr(value, limit) == safe_repr(value, limit)


CALL_HEAVY = """
class Node:
    def __init__(self, value, left=None, right=None):
        self.value, self.left, self.right = value, left, right

    def total(self):
        return self.value + (self.left.total() if self.left else 0) + (self.right.total() if self.right else 0)

def build(depth):
    if depth == 0:
        return None
    return Node(depth, build(depth - 1), build(depth - 1))

def check(x):
    if x % 3 == 0:
        raise ValueError(x)
    return x

def countdown(n):
    while n:
        yield check(n)
        n -= 1

def g(depth):
    seen = []
    try:
        for x in countdown(depth * 2):
            seen.append(x)
    except ValueError as exc:
        seen.append(str(exc))
    square = lambda v: v * v
    return build(depth).total() + sum(map(square, range(depth))), seen
"""


@pytest.mark.skipif(_speedups is None, reason="_speedups not built")
@pytest.mark.parametrize("max_steps", [10**6, 5, 8, 11, 12, 33, 34])
def test_the_compiled_call_and_return_paths_record_what_python_records(monkeypatch, max_steps):
    """Calls, returns, unwinding, generators, methods and the step limit landing on calls and returns."""
    limits = Limits(max_steps=max_steps)
    compiled = record_call(CALL_HEAVY, "g(4)", limits=limits)
    monkeypatch.setattr(recorder_module, "diff_locals", localdiff.diff_locals_py)
    monkeypatch.setattr(recorder_module, "speedups", None)
    pure = record_call(CALL_HEAVY, "g(4)", limits=limits)
    assert compiled.events == pure.events and compiled.value == pure.value
    assert compiled.exception == pure.exception and compiled.stopped_by == pure.stopped_by
    if max_steps > 1000:
        assert {e["event"] for e in pure.events} == {"call", "line", "return", "exception"} and len(pure.events) > 200
    else:
        assert len(pure.events) == max_steps and pure.stopped_by == "max_steps"
