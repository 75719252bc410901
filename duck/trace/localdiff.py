"""The recorder's per-event core: which locals of a frame are new or changed since its previous event.

``diff_locals(snap, f_locals, module, limit, names, texts)`` walks a frame's locals, compares
each with the frame's snapshot ``snap`` (name -> ``(value, safe repr, fingerprint)``), appends
the name and safe repr of every new or changed one to ``names``/``texts`` and returns how many
it appended; when locals disappeared it returns ``(count, deleted_names)`` instead.

In-place mutation counts as a change, so a mutable value is normally repr'd again on every
event. Two cheap checks avoid that where they are sound:

- an identical object of a type whose repr cannot change (int, str, float, tuple of such, a
  class with ``object.__repr__``, ...) is unchanged;
- for a list, tuple or dict whose visible head holds only scalars or objects of types already
  known to be stable, the fingerprint is
  its length plus the identities of the items the bounded repr can show (the snapshot holds
  references, so identities cannot be reused); the same fingerprint means the same safe repr.

The compiled ``duck.trace._speedups.diff_locals`` does the same in C and is used when it was
built for this interpreter, unless ``DUCK_PURE_PYTHON=1``; ``IMPLEMENTATION`` says which one
is in use and ``speedups`` is the compiled module (or None) for the other C helpers. This module does not hook the interpreter or store events (``recorder`` and
``store`` do). Stdlib only.
"""

from __future__ import annotations

import os
import sys
from itertools import chain, islice
from operator import is_

from duck.trace.saferepr import safe_repr
from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...

_NoneType = type(None)
# Values of these types never change in place: an identical object means an unchanged repr.
_ALWAYS_STABLE = frozenset({int, float, bool, str, bytes, _NoneType, complex, range, type, frozenset,
                            type(print), type(len.__call__), type(lambda: 0), type(sys)})
# Items a container fingerprint may hold: immutable, and repr'd by the container walk the same way every time.
_SCALARS = frozenset({int, float, bool, str, bytes, _NoneType, complex})
# type -> whether an identical object always has the same repr (filled as types are met)
stable_types: dict[type, bool] = {}


def classify(t: type) -> bool:
    """Whether an identical object of type ``t`` always has the same safe repr (remembered in ``stable_types``)."""
    stable = stable_types[t] = t in _ALWAYS_STABLE or t.__repr__ is object.__repr__
    return stable


def head_size(limit: int) -> int:
    """How many leading items a fingerprint must cover: more than the bounded repr can ever show."""
    return (limit + 32) // 3 + 3


def _fixed_items(head: tuple) -> bool:
    """Whether every item's repr is fixed by its identity: scalars, or types already known to be stable."""
    for t in set(map(type, head)) - _SCALARS:
        if not stable_types.get(t):
            return False
    return True


def fingerprint(value, t, k: int):
    """``(len, head items...)`` of a list/tuple/dict of fixed items (dict: keys and values interleaved), or None."""
    if t is list or t is tuple:
        head = tuple(value[:k])
    elif t is dict:
        head = tuple(chain.from_iterable(islice(value.items(), k)))
    else:
        return None
    if not _fixed_items(head):
        return None
    return (len(value), *head)


def _same(value, t, old: tuple, k: int) -> bool:
    new = fingerprint(value, t, k)
    return (new is not None and len(new) == len(old) and new[0] == old[0]
            and all(map(is_, islice(new, 1, None), islice(old, 1, None))))


def diff_locals_py(snap: dict, f_locals, module: bool, limit: int, names: list, texts: list):
    """The pure-Python diff (see the module docstring for the contract)."""
    count = 0
    seen = 0
    stable_get = stable_types.get
    k = (limit + 32) // 3 + 3
    for name, value in f_locals.items():
        seen += 1
        if module and name[:2] == "__":
            continue
        old = snap.get(name)
        t = type(value)
        if old is not None and old[0] is value:
            fp = old[2]
            if fp is True:
                continue
            if fp is not None and _same(value, t, fp, k):
                continue
        stable = stable_get(t)
        if stable is None:
            stable = classify(t)
        if t is int or t is float or t is bool:
            try:  # the common case, without a call into safe_repr
                text = repr(value)
                if len(text) > limit:
                    text = safe_repr(value, limit)
            except ValueError:  # an int too long to print
                text = safe_repr(value, limit)
        else:
            text = safe_repr(value, limit)
        if stable:
            snap[name] = (value, text, True)
        else:
            fp = fingerprint(value, t, k)
            snap[name] = (value, text, fp) if fp is not None else (None, text, None)
        if old is None or old[1] != text:
            names.append(name)
            texts.append(text)
            count += 1
    if seen < len(snap) or module:
        deleted = [name for name in snap if name not in f_locals]
        if deleted:
            for name in deleted:
                del snap[name]
            return count, deleted
    return count


def _load_speedups():
    """The compiled module, configured; None where it is not built or ``DUCK_PURE_PYTHON=1``."""
    if os.environ.get("DUCK_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from duck.trace import _speedups
    except ImportError:  # not built for this interpreter (no compiler, or run from a source tree)
        return None
    _speedups.configure(safe_repr, stable_types, classify)
    return _speedups


speedups = _load_speedups()
diff_locals = speedups.diff_locals if speedups is not None else diff_locals_py
IMPLEMENTATION = "c" if speedups is not None else "python"
