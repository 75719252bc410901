"""The recorder's per-event core: which locals of a frame are new or changed since its previous event.

``diff_locals(snap, f_locals, module, limit, names, texts)`` walks a frame's locals, compares
each with the frame's snapshot ``snap`` (name -> ``(value, safe repr, fingerprint)``), appends
the name and safe repr of every new or changed one to ``names``/``texts`` and returns how many
it appended; when locals disappeared it returns ``(count, deleted_names)`` instead.

In-place mutation counts as a change, so a mutable value is normally repr'd again on every
event. Two cheap checks avoid that where they are sound:

- an identical object of a type whose repr cannot change (int, str, float, a function, a
  class, an object without attributes, ...) is unchanged;
- a list, tuple, dict or object written structurally (``Node(value=3, next=None)``, see
  ``saferepr``) has a *fingerprint* (``fingerprint``): the identities of everything its bounded
  repr can show, in repr order, with each container's length and each object's attribute
  names, nested containers and objects included (the snapshot holds references, so identities
  cannot be reused); the same fingerprint means the same safe repr. So a list of objects whose
  attributes did not change is not repr'd again, and ``self.x = 5`` in a method shows as a
  change of the object in every frame holding it.

The compiled ``duck.trace._speedups.diff_locals`` does the same in C and is used when it was
built for this interpreter, unless ``DUCK_PURE_PYTHON=1``; on CPython 3.11-3.13 it reads a frame's
fast locals through the interpreter's frame layout, unless ``DUCK_FRAME_API=public`` (then through
``PyFrame_GetLocals``, as on every other version). ``IMPLEMENTATION`` says which one is in use and ``speedups`` is the compiled module (or None) for the other C helpers. This module does not hook the interpreter or store events (``recorder`` and
``store`` do). Stdlib only.
"""

from __future__ import annotations

import os
import sys
import types
from itertools import chain

from duck.trace import saferepr
from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...
from duck.trace.saferepr import K_OPAQUE, K_STRUCT, repr_is_fixed, repr_kinds, safe_repr

_NoneType = type(None)
# Values of these types never change in place: an identical object means an unchanged repr.
# (A member descriptor stands for an empty slot in an object's fingerprint.)
_ALWAYS_STABLE = frozenset({int, float, bool, str, bytes, _NoneType, complex, range, type, frozenset,
                            type(print), type(len.__call__), type(lambda: 0), type(sys), types.MemberDescriptorType})
# Parts of a fingerprint whose repr is fixed by their identity, whatever was classified.
_SCALARS = frozenset({int, float, bool, str, bytes, _NoneType, complex})
# type -> whether an identical object always has the same repr (filled as types are met)
stable_types: dict[type, bool] = {types.MemberDescriptorType: True}


def classify(t: type) -> bool:
    """Whether an identical object of type ``t`` always has the same safe repr (remembered in ``stable_types``)."""
    stable = stable_types[t] = t in _ALWAYS_STABLE or repr_is_fixed(t)
    return stable


def set_user_repr(enabled: bool) -> None:
    """``saferepr.set_user_repr``, forgetting what was decided per type under the other setting."""
    saferepr.set_user_repr(enabled)
    repr_kinds.clear()
    stable_types.clear()
    stable_types[types.MemberDescriptorType] = True


def fingerprint(value, t, k: int):
    """What the bounded repr of a list, tuple, dict or structural object depends on, in repr order; or None.

    A flat tuple: each part's identity, then for a container its length (an object: the size of
    its ``__dict__``, -1 without one) and its items, keys and attributes in the order the repr
    writes them, nested parts the same way, until ``3 * k`` parts (more than the bounded repr
    can show: each costs it a character at least). None when a part may change its repr without
    changing identity (a type not known to be stable, an attribute name the repr leaves out).
    """
    if not (t is list or t is tuple or t is dict or repr_kinds.get(t) == K_STRUCT):
        return None
    out: list = []
    try:
        if _flatten(value, out, 3 * k, set()) is None:
            return None
    except RecursionError:
        return None
    return tuple(out)


def _flatten(value, out: list, room: int, active: set) -> int | None:
    """Append ``value``'s parts to ``out``; the room left, or None when it has no fingerprint.

    ``room`` counts characters of the bounded repr: each part takes off the fewest its repr
    can take (a str its length and quotes, a float 3, the first item of a container 1 for its
    opening bracket and the others 2 for their separator, an attribute its name, ``=`` and
    separator), so the parts cover
    everything the repr can show. A container or object inside itself (``active``: the ones
    being walked) is written ``[...]``/``Node(...)`` and not walked again, as in ``saferepr``.
    """
    t = type(value)
    out.append(value)
    if t in _SCALARS or stable_types.get(t):
        return room - (len(value) + 2 if t is str else 3 if t is float else 1)
    key = id(value)
    if key in active:
        return room - 1
    if t is list or t is tuple:
        out.append(len(value))
        items = value
    elif t is dict:
        out.append(len(value))
        items = chain.from_iterable(value.items())
    elif repr_kinds.get(t) == K_STRUCT:
        slot_values, instance_dict = saferepr.object_storage(value, t)
        out.append(-1 if instance_dict is None else len(instance_dict))
        room -= 1
        items = slot_values if instance_dict is None else chain(slot_values, dict.items(instance_dict))
        active.add(key)
        try:
            for name, item in items:
                if room <= 0:
                    return room
                if type(item) is types.MemberDescriptorType:  # an empty slot: marks its place, shows nothing
                    out.append(item)
                    continue
                if type(name) is not str or not name.isidentifier():
                    return None
                out.append(name)
                room = _flatten(item, out, room - len(name) - 3, active)  # "name=" and ", "
                if room is None:
                    return None
            return room
        finally:
            active.discard(key)
    else:
        return None
    active.add(key)
    try:
        cost = 1  # the first item: the opening bracket before it (a value nested 200 deep shows 200 of them)
        for item in items:
            if room <= 0:
                return room
            room = _flatten(item, out, room - cost, active)
            cost = 2  # ", " before the others (dict: ": " before a value)
            if room is None:
                return None
        return room
    finally:
        active.discard(key)


def _same(value, t, old: tuple, k: int) -> bool:
    new = fingerprint(value, t, k)
    return new is not None and len(new) == len(old) and all(map(_same_part, new, old))


def _same_part(a, b) -> bool:
    return a is b or (type(a) is int and type(b) is int and a == b)


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
    _speedups.configure(safe_repr, stable_types, classify, repr_kinds, saferepr.object_layouts, K_STRUCT, K_OPAQUE)
    if os.environ.get("DUCK_FRAME_API", "") == "public":  # frames read only through the public C API
        _speedups.set_fast_locals(False)
    return _speedups


speedups = _load_speedups()
diff_locals = speedups.diff_locals if speedups is not None else diff_locals_py
IMPLEMENTATION = "c" if speedups is not None else "python"
#: Which path records, as the trace header's ``recorder`` says (docs/trace-format.md): ``c-fast-locals``
#: (the C core reading frames' fast locals through the interpreter's frame layout, CPython 3.11-3.13),
#: ``c-public-api`` (the C core through the public C API: other versions, or ``DUCK_FRAME_API=public``)
#: or ``python`` (the pure-Python fallback: no C core built, or ``DUCK_PURE_PYTHON=1``).
RECORDING_PATH = ("python" if speedups is None
                  else "c-fast-locals" if speedups.FAST_LOCALS and os.environ.get("DUCK_FRAME_API", "") != "public"
                  else "c-public-api")
