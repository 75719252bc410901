"""The recorder's fast paths record what the plain ones record, and the child starts light.

- On CPython 3.11-3.13 the C core reads a frame's fast locals through the interpreter's frame layout
  and compares them by identity slot by slot; the changes it reports, and their order, are those
  of the locals dict (``PyFrame_GetLocals``, ``set_fast_locals(False)``) and of the pure-Python
  path: locals deleted and bound again, cells and free variables, a local bound at the same step
  as an older one changes, a frame that raised, generators, objects changed in place, a value
  passed down and returned (a call's argument takes the caller's text, a return value the frame's
  own, only while the value still shows the same: here it was changed on the line of the call), a
  name the program added through ``frame.f_locals`` (no slot holds it: the public API reads that frame).
- The compare walk jumps over a dict of scalars (or an object's ``__dict__`` of them) whose version tag
  did not change: every way of changing one between two steps is still seen, in a function (per-slot
  memos) and in a module body (memos by name), C against the public API and pure Python.
- ``Limits`` (written by hand so the child needs no ``dataclasses``) behaves as the frozen
  dataclass it replaced.
- The recording child does not import the modules that made its start-up slow (checked by
  name in a fresh interpreter, not timed). ``dataclasses`` is not checked: the v2 writer
  (``binary``) still brings it.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from duck.trace import localdiff, recorder as recorder_module
from duck.trace.limits import Limits
from duck.trace.recorder import record_call

try:
    from duck.trace import _speedups
except ImportError:  # not built for this interpreter
    _speedups = None

needs_c = pytest.mark.skipif(_speedups is None, reason="_speedups not built")
ROOT = Path(__file__).resolve().parents[3]

PROGRAMS = {
    "delete_and_rebind": ("""
def f(n):
    a, b = 1, 2
    del a
    c = 3
    a = n
    b, a = a, b
    del b, c
    b = c = a
    return a + b + c
""", "f(5)"),
    "bound_late": ("""
def f(flag):
    if flag:
        later = 1
    first = 2
    later, first = first, 3
    return later
""", "f(False)"),
    "cells": ("""
def f(x):
    total = 0
    def add(k):
        nonlocal total
        total += k + x
        return total
    for i in range(3):
        add(i)
    x = 10
    add(1)
    return total
""", "f(2)"),
    "raises": ("""
def g(d):
    return d["missing"]

def f(d):
    items = [1]
    try:
        g(d)
    except KeyError as exc:
        items.append(str(exc))
    items.append(len(items))
    return items
""", "f({'k': 1})"),
    "generator": ("""
def gen(n):
    acc = []
    for i in range(n):
        acc.append(i)
        yield i
    return acc

def f(n):
    out = [v * 2 for v in gen(n)]
    return sum(out), out
""", "f(4)"),
    "in_place": ("""
class Box:
    def __init__(self):
        self.items = {}

def f(n):
    box = Box()
    seen = box.items
    for i in range(n):
        box.items[i] = [i] * i
        seen[i].append(-1)
    box.items = None
    return seen
""", "f(3)"),
    "shared_values": ("""
class P:
    def __init__(self, x):
        self.x = x

def inner(xs, p):
    xs.append(len(xs))
    p.x = p.x + 0.5
    return xs

def f(n):
    xs = [0.25]
    p = P(1.5)
    for i in range(n):
        xs.append(i); p.x = -p.x; inner(xs, p)
    ys = inner(xs, p)
    return ys, inner(ys, p), p
""", "f(3)"),
    "extra_locals": ("""
import sys

def f():
    a = 1
    sys._getframe().f_locals["zz"] = 5
    b = a + 1
    return b
""", "f()"),
    # The compare walk jumps over a dict of scalars whose version tag is unchanged: every way of changing
    # one between two steps (a specialized attribute store in another frame, a value set again or to
    # another, a key deleted and put back, __dict__ replaced by a new dict, perhaps at the freed one's
    # address, a slot beside __dict__, a list inside a dict, writes through __dict__ and vars()) must
    # still be seen, after enough rounds that the interpreter has specialized the stores.
    "memo_dicts": ("""
class P:
    def __init__(self, x):
        self.x = x
        self.y = 1.5

class S:
    __slots__ = ("a", "__dict__")
    def __init__(self):
        self.a = 1
        self.b = 2

def bump(p, v):
    p.x = v

def f(n):
    p = P(0)
    ps = [P(i) for i in range(3)]
    s = S()
    d = {"a": 1, "b": "s", "f": len}
    nested = {"k": [1]}
    for i in range(n):
        bump(p, i % 3)
        bump(ps[1], i)
        d["a"] = d["a"]
        d["a"] = i % 2
        saved = d.pop("b"); d["b"] = saved
        d["b"] = "t"; d["b"] = saved
        p.__dict__ = {"x": -i, "y": 1.5}
        s.a = i
        s.b = -i
        nested["k"].append(i)
        ps[0].__dict__["x"] = i * 10
        vars(ps[2]).update(x=i)
    return p.x
""", "f(20)"),
    "many_locals": ("def f(n):\n" + "".join(f"    v{i} = n + {i}\n" for i in range(70))
                    + "    del v3, v40\n    v3 = 0\n    return v0 + v69\n", "f(1)"),
}


def _record_all() -> dict:
    return {name: record_call(code, call) for name, (code, call) in PROGRAMS.items()}


def _same(a, b) -> None:
    for name in PROGRAMS:
        assert (a[name].events, a[name].value, a[name].exception) == (b[name].events, b[name].value,
                                                                      b[name].exception), name


@needs_c
def test_fast_locals_public_api_and_pure_python_record_the_same(monkeypatch):
    localdiff._load_speedups()
    fast = _record_all()
    was = _speedups.set_fast_locals(False)
    try:
        public = _record_all()
    finally:
        _speedups.set_fast_locals(was)
    monkeypatch.setattr(recorder_module, "diff_locals", localdiff.diff_locals_py)
    monkeypatch.setattr(recorder_module, "speedups", None)
    pure = _record_all()
    _same(fast, public)
    _same(fast, pure)
    changes = [e.get("changes") for e in fast["delete_and_rebind"].events if e.get("changes") or e.get("deleted")]
    assert {"a": "5"} in changes and {"b": "5", "a": "2"} in changes  # b was bound before a, so comes first
    assert any(e.get("deleted") == ["b", "c"] for e in fast["delete_and_rebind"].events)
    assert fast["cells"].value == "20" and fast["many_locals"].value == "71"
    memo = [e.get("changes") or {} for e in fast["memo_dicts"].events]
    assert sum("P(x=2, y=1.5)" in c.get("p", "") for c in memo) >= 6  # every third bump, seen from f
    assert sum("s" in c for c in memo) >= 40  # the slot and the __dict__ attribute, each round
    assert {"zz": "5"} in [e.get("changes") for e in fast["extra_locals"].events]


@needs_c
def test_the_fast_locals_view_is_what_this_build_can_read():
    if sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)):  # the frame layouts it knows (where headers were found)
        assert _speedups.FAST_LOCALS == 0
    was = _speedups.set_fast_locals(True)
    try:
        assert _speedups.set_fast_locals(was) == bool(_speedups.FAST_LOCALS)
    finally:
        _speedups.set_fast_locals(was)


def test_limits_behave_as_the_frozen_dataclass_they_replace():
    limits = Limits(max_steps=5)
    assert limits == Limits(max_steps=5) != Limits() and hash(limits) == hash(Limits(max_steps=5))
    assert repr(Limits()) == ("Limits(max_steps=1000000, timeout_s=30.0, max_memory_mb=2048, "
                              "max_output_bytes=10000000, repr_limit=200, user_repr=False)")
    assert pickle.loads(pickle.dumps(limits)) == limits == copy.deepcopy(limits)
    assert limits.replace(timeout_s=1.5) == Limits(max_steps=5, timeout_s=1.5)
    assert Limits.from_dict({**limits.to_dict(), "unknown": 1}) == limits
    with pytest.raises(AttributeError):
        limits.max_steps = 6
    with pytest.raises(TypeError):
        limits.replace(max_step=1)


#: what the recording child does not import before the program starts: the heavy ones, and the stdlib
#: modules that were most of its start-up (json's re and enum, traceback's linecache and tokenize, signal's enum,
#: threading's functools and collections); ``_json``, ``_signal``, ``_thread``... (C) stand in for them
CHILD_DOES_NOT_IMPORT = ("typing", "platform", "orjson", "dataclasses", "mmap", "datetime", "duck.trace.format",
                         "duck.trace.revive", "duck.trace.call", "re", "json", "enum", "signal", "traceback",
                         "linecache", "tokenize", "textwrap", "contextlib", "threading", "functools", "collections",
                         "sysconfig")


def test_the_recording_child_starts_without_heavy_imports():
    # -S: no site, whose .pth files (an editable install's finder) may load re and enum themselves;
    # collections (with operator) is _child.py's to keep out: array imports collections.abc
    names = tuple(m for m in CHILD_DOES_NOT_IMPORT if m != "collections") + ("struct",)
    probe = ("import sys; import duck.trace.child; "
             f"print(' '.join(m for m in {names!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_the_program_starts_with_no_module_python_would_not_have_loaded_but_duck_s_few(tmp_path, monkeypatch):
    """What the program finds in sys.modules under duck and not under python (both without site, as above):
    none of the above. The whole child: _child.py, main() and the run up to the program's first line, as
    duck record starts it (its own interpreter, which here is this one with -S: the default excludes come
    from the parent, so sysconfig, which imports threading on 3.12+, is not the child's)."""
    from duck.trace.format import read_trace
    from duck.trace.runner import RecordRequest, record

    program = tmp_path / "prog.py"
    program.write_text("import sys\nprint(' '.join(sorted(sys.modules)))\n")
    plain = subprocess.run([sys.executable, "-S", str(program)], capture_output=True, text=True, timeout=60)
    python = tmp_path / "python-S"
    python.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    python.chmod(0o755)
    trace = tmp_path / "t.trace"
    monkeypatch.setattr(sys, "executable", str(python))
    record(RecordRequest(script=program, stdin=None), trace)
    under_duck = "".join(e.get("stdout", "") for e in read_trace(trace).events).split()
    extra = set(under_duck) - set(plain.stdout.split())
    assert [m for m in CHILD_DOES_NOT_IMPORT if m in extra] == [], sorted(extra)


def test_an_unconfined_recording_keeps_the_users_environment_and_says_which_path_recorded(tmp_path, monkeypatch):
    """The program sees the environment plain python gives it (duck's switches included), and the header
    names the recording path: the pure-Python fallback under DUCK_PURE_PYTHON=1."""
    from duck.trace.format import read_trace
    from duck.trace.localdiff import RECORDING_PATH
    from duck.trace.runner import RecordRequest, record

    program = tmp_path / "env.py"
    program.write_text("import os\nprint(os.environ.get('DUCK_TEST_SECRET_THING'))\n")
    monkeypatch.setenv("DUCK_TEST_SECRET_THING", "kept")
    trace = tmp_path / "t.trace"
    record(RecordRequest(script=program, stdin=None), trace)
    recorded = read_trace(trace)
    assert "".join(e.get("stdout", "") for e in recorded.events) == "kept\n"
    assert recorded.header["recorder"] == RECORDING_PATH
    monkeypatch.setenv("DUCK_PURE_PYTHON", "1")
    record(RecordRequest(script=program, stdin=None), trace)
    assert read_trace(trace).header["recorder"] == "python"


@needs_c
def test_a_module_body_diffed_through_its_dict_records_what_the_pure_path_records(run_program, tmp_path, monkeypatch):
    """A module body is diffed through its globals dict (diff_core), whose compare walks keep their memos by
    name: the dict jump's risky cases at module level, C core against pure Python, event for event."""
    source, _ = PROGRAMS["memo_dicts"]
    body = source.replace("\ndef f(n):\n", "\nn = 20\nif True:\n") + "print(p.x, d, s.a, nested['k'][-1])\n"
    body = body.replace("    return p.x\n", "")
    script = tmp_path / "module_memo.py"
    script.write_text(body)
    outcome, c_trace = run_program(script)
    monkeypatch.setenv("DUCK_PURE_PYTHON", "1")
    pure_outcome, pure_trace = run_program(script)
    assert outcome["outcome"] == pure_outcome["outcome"] == "finished"
    assert c_trace.events == pure_trace.events
    changes = [e.get("changes") or {} for e in c_trace.events]
    assert sum("P(x=2, y=1.5)" in c.get("p", "") for c in changes) >= 6
