"""Safe reprs: the bounded, never-raising, never-hanging ``repr`` that every traced value goes through.

``safe_repr(value, limit)`` returns ``repr(value)`` when it is short and harmless, and
otherwise a bounded stand-in: long reprs are cut at ``limit`` characters and end in ``...``
(plus ``<+N chars>`` where the remaining length is known without building it); builtin
containers are walked with a budget so a 10 MB list never becomes a 10 MB string, and a
container inside itself shows as ``[...]`` / ``{...}`` like Python does; memory addresses
never appear (``<function f>``), so two traces of one run are equal.

**Recording must not change what the program does**, so no code the program defined runs
here. An object whose class has no ``__repr__`` or a ``__repr__`` written in Python (the
user's classes, dataclasses) gets a *structural* repr instead: its type name and its recorded
attributes, ``Node(value=3, next=None)``, read from the instance ``__dict__`` and ``__slots__``
through the C descriptors of the type (never a property, ``__getattr__`` or ``__getattribute__``;
a repeated object inside itself shows as ``Node(...)``). Named tuples, enums, exceptions and
the ``collections`` containers are written the way their own repr writes them, by this walk.
Reprs that cannot reach the program's code are called: those written in C (ints, dates,
``Decimal``) and a few immutable stdlib value types (``Fraction``, ``pathlib`` paths, ``UUID``).
``set_user_repr(True)`` (``--user-repr``) calls the program's own ``__repr__`` instead, contained:
one that raises (even ``SystemExit``) gives ``<repr raised X: msg>``, one that runs longer than
``REPR_TIME_BUDGET_S`` of CPU gives ``<repr timed out>`` (main thread only, on ``SIGPROF`` so a
program's own ``SIGALRM`` is left alone).

``object_attributes(value)`` is that attribute capture, and ``revive(text)`` turns a safe repr
back into a value (plain literals, structural objects as ``Structure``) for the session, the
watches and the UI. This module only turns values into text and back. It does not decide which
values to record (``duck.trace.recorder`` does). Stdlib only.
"""

from __future__ import annotations

import sys

try:  # the C functions: ``signal.signal`` converts to and from enums, which costs microseconds per call
    from _signal import setitimer as _setitimer, signal as _set_handler, SIGPROF as _SIGPROF, ITIMER_PROF as _ITIMER
except ImportError:  # pragma: no cover - platforms without setitimer
    _setitimer = _set_handler = None
import time
import types
from _thread import get_ident as _get_ident
from itertools import islice
from _operator import itemgetter  # operator's C half (operator.py would bring functools)

from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...

DEFAULT_LIMIT = 200
REPR_TIME_BUDGET_S = 0.25

_HEX = frozenset("0123456789abcdefABCDEF")


def _without_addresses(text: str) -> str:
    """``text`` without its `` at 0x<hex digits>`` (what ``re.sub(r" at 0x[0-9a-fA-F]+", "", text)`` gives),
    without ``re``: it and the ``enum`` it imports were a sixth of the recording child's start-up."""
    if " at 0x" not in text:
        return text
    parts = []
    start = pos = 0
    end = len(text)
    while True:
        at = text.find(" at 0x", pos)
        if at < 0:
            break
        digits = at + 6
        while digits < end and text[digits] in _HEX:
            digits += 1
        if digits > at + 6:
            parts.append(text[start:at])
            start = pos = digits
        else:
            pos = at + 1
    parts.append(text[start:])
    return "".join(parts)
_NoneType = type(None)
# Types whose builtin repr is cheap and bounded (an int over 4300 digits raises, which we catch).
_SCALARS = frozenset({int, float, bool, _NoneType, complex, type(Ellipsis), type(NotImplemented)})
_TEXTS = frozenset({str, bytes, bytearray})
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.LambdaType)
_FUNCTION_REPRS = (types.FunctionType.__repr__, types.BuiltinFunctionType.__repr__, types.MethodType.__repr__)

# Reading a type's own slots through type's C descriptors: never a metaclass's __getattribute__ or property.
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_name_of = type.__dict__["__name__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_repr = type.__repr__
_exc_args = BaseException.__dict__["args"].__get__
_dict_items = dict.items
_GetSet = types.GetSetDescriptorType
_Member = types.MemberDescriptorType

_user_repr = False  # set_user_repr(True): call the program's own __repr__ (contained)


def set_user_repr(enabled: bool) -> None:
    """Whether Python-level ``__repr__`` methods of the program's classes are called (``--user-repr``)."""
    global _user_repr
    _user_repr = bool(enabled)


class _ReprTimedOut(BaseException):
    """Raised by the timer inside a slow ``__repr__``; a BaseException so ``except Exception`` in user code cannot swallow it."""


class _Full(Exception):
    """The walk has produced more text than the bound allows."""


def _on_timer(signum, frame):  # pragma: no cover - runs inside a signal handler
    raise _ReprTimedOut()


def main_thread_ident() -> int:
    """``threading.main_thread().ident`` without importing ``threading`` (its ``functools`` and ``collections``
    cost the recording child its start-up): the thread that imported ``threading``, or, before anything
    has, this one, which threading would make its main thread were it imported now."""
    threading = sys.modules.get("threading")
    if threading is not None:
        return threading.main_thread().ident
    return _get_ident()


_main_thread_id = main_thread_ident()


def _timed_repr(value) -> str:
    """``repr(value)`` of the program's own ``__repr__``, cut off after REPR_TIME_BUDGET_S of CPU time.

    The timer re-fires every 50 ms, so a ``__repr__`` that swallows one ``_ReprTimedOut`` gets
    another. It runs on ITIMER_PROF/SIGPROF, which programs rarely use, and gives back any
    profiling timer the program had set.
    """
    if _setitimer is None or _get_ident() != _main_thread_id:
        return repr(value)
    try:
        previous_handler = _set_handler(_SIGPROF, _on_timer)
    except (ValueError, OSError):  # not the main interpreter / thread
        return repr(value)
    started = time.process_time()
    previous_timer = _setitimer(_ITIMER, REPR_TIME_BUDGET_S, 0.05)
    try:
        return repr(value)
    finally:
        _setitimer(_ITIMER, 0)
        _set_handler(_SIGPROF, previous_handler)
        if previous_timer[0] > 0:  # the program's own timer: give back what is left of it
            left = previous_timer[0] - (time.process_time() - started)
            _setitimer(_ITIMER, max(left, 1e-6), previous_timer[1])


def _type_name(t: type) -> str:
    try:
        return _type_name_of(t)
    except Exception:  # noqa: BLE001 - not a type object after all
        return "object"


# ------------------------------------------------------------------- what kind of repr a type has
# How a value of a given type is written (decided once per type: ``repr_kind``):
K_CALL = 0        # its repr is called: C code, or a known stdlib value type; addresses are removed
K_STRUCT = 1      # type name + attributes (no __repr__, or one written in Python and --user-repr is off)
K_USER = 2        # a __repr__ written in Python, called (timed) because of --user-repr (else: K_STRUCT)
K_CONTAINER = 3   # list/tuple/dict/set/frozenset or a subclass that kept their repr
K_TYPE = 4        # a class: type.__repr__, never a metaclass's __repr__
K_FUNCTION = 5    # <function qualname>
K_NAMEDTUPLE = 6  # Name(field=value, ...)
K_ENUM = 7        # <Cls.NAME: value>
K_EXCEPTION = 8   # Name(arg, ...)
K_DEQUE = 9       # deque([...]) / deque([...], maxlen=N)
K_DEFAULTDICT = 10  # defaultdict(factory, {...})
K_ORDEREDDICT = 11  # OrderedDict([...]) (3.11) / OrderedDict({...}) (3.12+)
K_COUNTER = 12    # Counter({...}) in most_common order
K_OPAQUE = 13     # <Name object>: object.__repr__ and no attributes to show (iterators, C objects)

_CONTAINERS = (list, tuple, dict, set, frozenset)
_BUILTIN_REPRS = {cls.__repr__ for cls in _CONTAINERS}
# stdlib value types whose Python-level __repr__ only formats their own immutable fields
_TRUSTED = {"fractions": ("Fraction",), "uuid": ("UUID",),
            "pathlib": ("PurePath", "PurePosixPath", "PureWindowsPath", "Path", "PosixPath", "WindowsPath"),
            "ipaddress": ("IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network")}
repr_kinds: dict[type, int] = {}
object_layouts: dict[type, tuple] = {}


def _lookup(t: type, name: str):
    """The attribute ``name`` as the type's MRO holds it (no descriptor called), or None."""
    for klass in _type_mro(t):
        found = _type_dict(klass).get(name)
        if found is not None:
            return found
    return None


def _trusted(t: type) -> bool:
    module = _type_module(t)
    names = _TRUSTED.get(module) if type(module) is str else None
    return bool(names) and any(getattr(sys.modules.get(module), name, None) is t for name in names)


_namedtuple_repr: list = []  # the code of every namedtuple's __repr__, once a namedtuple may exist


def _is_namedtuple_repr(method) -> bool:
    """Whether ``method`` is ``collections.namedtuple``'s ``__repr__``. Until ``collections`` is imported no
    namedtuple exists, so duck does not import it (it was a tenth of the recording child's start-up)."""
    if not _namedtuple_repr:
        collections = sys.modules.get("collections")
        try:
            _namedtuple_repr.append(collections.namedtuple("_T", "a").__repr__.__code__)
        except Exception:  # noqa: BLE001 - not imported (or the program's own collections.py): no namedtuple
            return False
    return getattr(method, "__code__", None) is _namedtuple_repr[0]


def repr_kind(t: type) -> int:
    """How values of type ``t`` are written (``K_*``), decided from the type's MRO dicts and remembered."""
    kind = repr_kinds.get(t)
    if kind is None:
        kind = repr_kinds[t] = _decide_kind(t)
    return kind


def _decide_kind(t: type) -> int:
    if issubclass(t, type):
        return K_TYPE
    method = _lookup(t, "__repr__")
    if method is object.__repr__:
        dict_descr, slots = object_layout(t)
        return K_STRUCT if dict_descr is not None or slots else K_OPAQUE
    if issubclass(t, _CONTAINERS):
        if method in _BUILTIN_REPRS:
            return K_CONTAINER
        if issubclass(t, tuple) and _is_namedtuple_repr(method) \
                and type(_lookup(t, "_fields")) is tuple:
            return K_NAMEDTUPLE
    if issubclass(t, _FUNCTIONS) and method in _FUNCTION_REPRS:
        return K_FUNCTION
    if issubclass(t, BaseException) and method is BaseException.__repr__:
        return K_EXCEPTION
    collections = sys.modules.get("collections")
    if collections is not None:
        for base, kind in ((collections.deque, K_DEQUE), (collections.defaultdict, K_DEFAULTDICT),
                           (collections.OrderedDict, K_ORDEREDDICT), (collections.Counter, K_COUNTER)):
            if issubclass(t, base) and method is base.__repr__:
                return kind
    if isinstance(method, types.FunctionType):  # a __repr__ written in Python
        enum = sys.modules.get("enum")
        if enum is not None and issubclass(t, enum.Enum) and method.__module__ == "enum":
            return K_ENUM
        if _trusted(t):
            return K_CALL
        return K_USER if _user_repr else K_STRUCT
    return K_CALL


def object_layout(t: type) -> tuple:
    """``(dict descriptor or None, ((slot name, member descriptor), ...))`` of instances of ``t``, remembered.

    Both are C descriptors found in the MRO dicts, so reading through them never runs the program's code.
    """
    layout = object_layouts.get(t)
    if layout is None:
        dict_descr = None
        slots: dict[str, object] = {}
        for klass in reversed(_type_mro(t)):
            for name, attr in _type_dict(klass).items():
                if type(attr) is _Member and type(name) is str and name not in slots:
                    slots[name] = attr
        for klass in _type_mro(t):
            attr = _type_dict(klass).get("__dict__")
            if type(attr) is _GetSet:
                dict_descr = attr
                break
        layout = object_layouts[t] = (dict_descr, tuple(slots.items()))
    return layout


def object_storage(value, t: type) -> tuple[list, dict | None]:
    """``([(slot name, value), ...], instance dict or None)`` of an instance of ``t``, read through its C descriptors.

    An empty slot's value is its member descriptor (a value no slot holds in practice).
    """
    dict_descr, slots = object_layout(t)
    slot_values = []
    for name, descr in slots:
        try:
            slot_values.append((name, descr.__get__(value, t)))
        except AttributeError:  # an empty slot
            slot_values.append((name, descr))
    instance_dict = None
    if dict_descr is not None:
        try:
            instance_dict = dict_descr.__get__(value, t)
        except (AttributeError, TypeError):
            pass
    return slot_values, instance_dict if isinstance(instance_dict, dict) else None


def object_attributes(value) -> list[tuple[str, object]]:
    """The attributes an instance holds: its slots (base classes first), then its ``__dict__``, shallow.

    Only identifiers are kept (the structural repr writes ``name=value``); nothing the program
    defined is called.
    """
    t = type(value)
    slot_values, instance_dict = object_storage(value, t)
    attrs = [(name, v) for name, v in slot_values if type(v) is not _Member]
    if instance_dict is not None:
        attrs.extend((k, v) for k, v in _dict_items(instance_dict) if type(k) is str and k.isidentifier())
    return attrs


def repr_is_fixed(t: type) -> bool:
    """Whether an identical object of type ``t`` always has the same safe repr (for ``localdiff.classify``)."""
    kind = repr_kind(t)
    return kind == K_TYPE or kind == K_FUNCTION or kind == K_OPAQUE or (kind == K_CALL and _trusted(t))


# ---------------------------------------------------------------------------------------- the walk
class _Walker:
    """Builds the repr piece by piece and stops once ``budget`` characters exist."""

    __slots__ = ("pieces", "size", "budget", "active")

    def __init__(self, budget: int) -> None:
        self.pieces: list[str] = []
        self.size = 0
        self.budget = budget
        self.active: set[int] = set()

    def emit(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)
        if self.size > self.budget:
            raise _Full()

    def walk(self, value) -> None:
        t = type(value)
        if t in _SCALARS:
            self.emit(repr(value))
            return
        if t in _TEXTS:
            room = self.budget - self.size + 2
            if len(value) > room:
                self.emit(repr(value[:room]))
            else:
                self.emit(repr(value))
            return
        kind = repr_kinds.get(t)
        if kind is None:
            kind = repr_kind(t)
        if kind == K_CONTAINER:
            self.walk_container(value, t)
            return
        try:
            if kind == K_CALL or kind == K_USER:
                self.emit(_called_repr(value, kind, self.budget - self.size + 1))
            elif kind == K_TYPE:
                self.emit(_type_repr(value))
            elif kind == K_OPAQUE:
                self.emit(f"<{_type_name(t)} object>")
            elif kind == K_FUNCTION:
                self.emit(f"<function {getattr(value, '__qualname__', getattr(value, '__name__', '?'))}>")
            else:
                self.walk_object(value, t, kind)
        except _Full:
            raise
        except BaseException as exc:  # noqa: BLE001 - one bad item does not spoil its container
            _reraise_interrupt(exc)
            self.emit(_failure_text(exc))

    def walk_items(self, items, open_: str, close: str) -> None:
        self.emit(open_)
        first = True
        for item in items:
            if not first:
                self.emit(", ")
            first = False
            self.walk(item)
        self.emit(close)

    def walk_pairs(self, pairs, separator: str, open_: str, close: str) -> None:
        """``open k<sep>v, ... close``: dict items (``: ``) or attributes (``=``, names written as they are)."""
        emit, walk = self.emit, self.walk
        emit(open_)
        first = True
        for k, v in pairs:
            if separator == "=":
                emit(f"{k}=" if first else f", {k}=")
            else:
                if not first:
                    emit(", ")
                walk(k)
                emit(": ")
            first = False
            walk(v)
        emit(close)

    def walk_container(self, value, t) -> None:
        fast = _flat_repr(value, t, self.budget - self.size)
        if fast is not None:
            self.emit(fast)
            return
        key = id(value)
        if key in self.active:
            self.emit("[...]" if issubclass(t, list) else "{...}" if issubclass(t, dict) else "(...)")
            return
        self.active.add(key)
        try:
            if issubclass(t, dict):
                self.walk_pairs(_dict_items(value), ": ", "{", "}")
            elif issubclass(t, list):
                self.walk_items(list.__iter__(value), "[", "]")
            elif issubclass(t, tuple):
                self.walk_items(tuple.__iter__(value), "(", ",)" if tuple.__len__(value) == 1 else ")")
            else:
                base = set if issubclass(t, set) else frozenset
                if not base.__len__(value):
                    self.emit(f"{_type_name(t)}()")
                elif t is set:
                    self.walk_items(set.__iter__(value), "{", "}")
                else:
                    self.walk_items(base.__iter__(value), f"{_type_name(t)}({{", "})")
        finally:
            self.active.discard(key)

    def walk_object(self, value, t, kind: int) -> None:
        """The structural forms: everything is read through C descriptors and written by this walk."""
        name = _type_name(t)
        key = id(value)
        if key in self.active:
            self.emit(f"{name}(...)")
            return
        self.active.add(key)
        try:
            if kind == K_NAMEDTUPLE:
                self.walk_pairs(zip(_lookup(t, "_fields"), tuple.__iter__(value)), "=", f"{name}(", ")")
            elif kind == K_EXCEPTION:
                self.walk_items(_exc_args(value), f"{name}(", ")")
            elif kind == K_ENUM:
                attrs = dict(object_attributes(value))
                member = attrs.get("_name_")
                self.emit(f"<{name}.{member}: " if type(member) is str else f"<{name}: ")
                self.walk(attrs.get("_value_"))
                self.emit(">")
            elif kind == K_DEQUE:
                import collections

                maxlen = collections.deque.maxlen.__get__(value)
                self.walk_items(collections.deque.__iter__(value), f"{name}([",
                                "])" if maxlen is None else f"], maxlen={maxlen})")
            elif kind == K_DEFAULTDICT:
                import collections

                self.emit(f"{name}(")
                self.walk(collections.defaultdict.default_factory.__get__(value))
                self.walk_pairs(_dict_items(value), ": ", ", {", "})")
            elif kind == K_ORDEREDDICT:
                import collections

                if not dict.__len__(value):
                    self.emit(f"{name}()")
                elif sys.version_info >= (3, 12):
                    self.walk_pairs(collections.OrderedDict.items(value), ": ", f"{name}({{", "})")
                else:
                    self.walk_items(collections.OrderedDict.items(value), f"{name}([", "])")
            elif kind == K_COUNTER:
                items = list(_dict_items(value))
                if not items:
                    self.emit(f"{name}()")
                    return
                if all(type(count) is int or type(count) is float for _, count in items):
                    items.sort(key=itemgetter(1), reverse=True)
                self.walk_pairs(items, ": ", f"{name}({{", "})")
            else:
                self.walk_pairs(object_attributes(value), "=", f"{name}(", ")")
        finally:
            self.active.discard(key)


_FLAT_OK = _SCALARS | {str}


def _flat_repr(value, t, room: int) -> str | None:
    """C-speed repr of a list/tuple/dict of scalars and short strings, enough of it to fill ``room``; None otherwise."""
    if t is list or t is tuple:
        count = room // 3 + 2
        head = value[:count] if len(value) > count else value
        types_ = set(map(type, head))
        if not types_ <= _FLAT_OK or (str in types_ and sum(map(len, filter(_is_str, head))) > 4 * room):
            return None
        if head is value:
            return repr(value)
        text = repr(head[: room // 7 + 1])  # most items print as several characters: try a short head first
        if len(text) <= room:
            text = repr(head)
        return text[:-1]  # cut anyway: more items follow
    if t is dict:
        count = room // 6 + 2
        head = value if len(value) <= count else dict(islice(value.items(), count))
        types_ = set(map(type, head)) | set(map(type, head.values()))
        if not types_ <= _FLAT_OK or (str in types_ and (sum(map(len, filter(_is_str, head))) +
                                                          sum(map(len, filter(_is_str, head.values())))) > 4 * room):
            return None
        text = repr(head)
        return text if head is value else text[:-1]
    return None


def _is_str(x) -> bool:
    return type(x) is str


def _called_repr(value, kind: int, room: int) -> str:
    """The value's own repr (C, a trusted stdlib type, or the program's with ``--user-repr``), without addresses."""
    text = _timed_repr(value) if kind == K_USER else repr(value)
    if type(text) is not str:
        text = str.__str__(text) if isinstance(text, str) else "<repr returned a non-string>"
    if len(text) > room + 4096:
        text = text[: room + 4096]
    return _without_addresses(text)


def _cut(text: str, limit: int, rest: int | None) -> str:
    if rest is None:
        return text[:limit] + "..."
    return f"{text[:limit]}...<+{rest} chars>"


def safe_repr(value, limit: int = DEFAULT_LIMIT) -> str:
    """``repr(value)`` bounded to ``limit`` characters; never raises, never hangs, runs no code of the program."""
    try:
        t = type(value)
        if t in _SCALARS:
            text = repr(value)
        elif t in _TEXTS:
            if len(value) > limit:
                return _cut(repr(value[:limit]), limit, len(value) - limit)
            text = repr(value)
        else:
            walker = _Walker(limit + 32)
            try:
                walker.walk(value)
            except _Full:
                return _cut("".join(walker.pieces), limit, None)
            text = "".join(walker.pieces)
        if len(text) > limit:
            return _cut(text, limit, len(text) - limit)
        return text
    except BaseException as exc:  # noqa: BLE001 - a repr must never take the recorder down (nor end the program)
        _reraise_interrupt(exc)
        return _failure_text(exc)


def _reraise_interrupt(exc: BaseException) -> None:
    """Re-raise what belongs to the program: a real Ctrl-C or exit, or what its signal handler raised.

    Without ``--user-repr`` no code of the program runs here, except a Python signal handler
    that fires while the walk runs: its exception (seen as a frame of another file in the
    traceback) is the program's and goes on to it. With ``--user-repr`` the program's
    ``__repr__`` may raise anything, which is contained.
    """
    if _user_repr:
        return
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        raise exc
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:
            raise exc
        tb = tb.tb_next


def _failure_text(exc: BaseException) -> str:
    """What a failed repr shows: ``<repr timed out>`` or ``<repr raised X: msg>``."""
    if isinstance(exc, _ReprTimedOut):
        return "<repr timed out>"
    if isinstance(exc, RecursionError):
        return "<repr raised RecursionError: too deep (a cycle?)>"
    try:
        written_in_python = isinstance(_lookup(type(exc), "__str__"), types.FunctionType)
        message = BaseException.__str__(exc) if written_in_python else str(exc)
    except BaseException:  # noqa: BLE001
        message = "?"
    message = _without_addresses(message)
    if len(message) > 100:
        message = message[:100] + "..."
    name = _type_name(type(exc))
    return f"<repr raised {name}: {message}>" if message else f"<repr raised {name}>"


# ------------------------------------------------------------------------------------- revival
_REVIVAL = frozenset({"Structure", "Opaque", "CutShort", "revive"})


def __getattr__(name: str):
    """``revive`` and its stand-ins live in ``duck.trace.revive`` (imported on first use, not by the recorder)."""
    if name in _REVIVAL:
        from duck.trace import revive as _revive_module

        return getattr(_revive_module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
