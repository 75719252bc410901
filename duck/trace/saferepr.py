"""Safe reprs: the bounded, never-raising, never-hanging ``repr`` that every traced value goes through.

``safe_repr(value, limit)`` returns ``repr(value)`` when it is short and harmless, and
otherwise a bounded stand-in: long reprs are cut at ``limit`` characters and end in ``...``
(plus ``<+N chars>`` where the remaining length is known without building it); a ``__repr__``
that raises gives ``<repr raised X: msg>``; one that runs longer than ``REPR_TIME_BUDGET_S``
gives ``<repr timed out>`` (main thread only, where ``signal.setitimer`` exists); builtin
containers are walked with a budget so a 10 MB list never becomes a 10 MB string, and a
container inside itself shows as ``[...]`` / ``{...}`` like Python does; memory addresses
never appear (``<function f>``, ``<Point object>``), so two traces of one run are equal.

This module only turns values into text. It does not decide which values to record
(``duck.trace.recorder`` does). Stdlib only.
"""

from __future__ import annotations

import re
import signal

try:  # the C functions: ``signal.signal`` converts to and from enums, which costs microseconds per call
    from _signal import setitimer as _setitimer, signal as _set_handler
except ImportError:  # pragma: no cover - platforms without setitimer
    _setitimer = _set_handler = None
import threading
import time
import types
from itertools import islice

from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...

DEFAULT_LIMIT = 200
_ITIMER_REAL = getattr(signal, "ITIMER_REAL", 0)
REPR_TIME_BUDGET_S = 0.25

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_NoneType = type(None)
# Types whose builtin repr is cheap and bounded (an int over 4300 digits raises, which we catch).
_SCALARS = frozenset({int, float, bool, _NoneType, complex, type(Ellipsis), type(NotImplemented)})
_TEXTS = frozenset({str, bytes, bytearray})
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.LambdaType)


class _ReprTimedOut(BaseException):
    """Raised by the alarm inside a slow ``__repr__``; a BaseException so ``except Exception`` in user code cannot swallow it."""


class _Full(Exception):
    """The walk has produced more text than the bound allows."""


def _on_alarm(signum, frame):  # pragma: no cover - runs inside a signal handler
    raise _ReprTimedOut()


_main_thread_id = threading.main_thread().ident


def _can_time() -> bool:
    return _setitimer is not None and threading.get_ident() == _main_thread_id


def _timed_repr(value) -> str:
    """``repr(value)`` cut off after REPR_TIME_BUDGET_S, keeping any timer the program had set."""
    if not _can_time():
        return repr(value)
    try:
        previous_handler = _set_handler(signal.SIGALRM, _on_alarm)
    except (ValueError, OSError):  # not the main interpreter / thread
        return repr(value)
    started = time.monotonic()
    previous_timer = _setitimer(_ITIMER_REAL, REPR_TIME_BUDGET_S)
    try:
        return repr(value)
    finally:
        _setitimer(_ITIMER_REAL, 0)
        _set_handler(signal.SIGALRM, previous_handler)
        if previous_timer[0] > 0:  # the program's own timer: give back what is left of it
            left = previous_timer[0] - (time.monotonic() - started)
            _setitimer(_ITIMER_REAL, max(left, 1e-6), previous_timer[1])


def _type_name(t: type) -> str:
    return getattr(t, "__qualname__", None) or getattr(t, "__name__", "object")


class _Walker:
    """Builds the repr of builtin containers piece by piece and stops once ``budget`` characters exist."""

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
        elif t in _TEXTS:
            room = self.budget - self.size + 2
            if len(value) > room:
                self.emit(repr(value[:room]))
            else:
                self.emit(repr(value))
        elif (t is list or t is tuple or t is dict or t is set or t is frozenset
              or (isinstance(value, (list, tuple, dict, set, frozenset)) and _builtin_repr(t))):
            self.walk_container(value, t)
        else:
            try:
                text = _object_repr(value, self.budget - self.size + 1)
            except (KeyboardInterrupt, SystemExit, _Full):
                raise
            except BaseException as exc:  # noqa: BLE001 - one bad item does not spoil its container
                text = _failure_text(exc)
            self.emit(text)

    def walk_container(self, value, t) -> None:
        fast = _flat_repr(value, t, self.budget - self.size)
        if fast is not None:
            self.emit(fast)
            return
        key = id(value)
        if key in self.active:
            self.emit("[...]" if isinstance(value, list) else "{...}" if isinstance(value, dict) else "(...)")
            return
        self.active.add(key)
        try:
            prefix = suffix = ""
            if isinstance(value, dict):
                open_, close = "{", "}"
            elif isinstance(value, list):
                open_, close = "[", "]"
            elif isinstance(value, tuple):
                open_, close = "(", ")"
            else:
                name = _type_name(t)
                if not value:
                    self.emit(f"{name}()")
                    return
                open_, close = "{", "}"
                if t is not set:
                    prefix, suffix = f"{name}(", ")"
            self.emit(prefix)
            self.emit(open_)
            first = True
            if isinstance(value, dict):
                for k, v in value.items():
                    if not first:
                        self.emit(", ")
                    first = False
                    self.walk(k)
                    self.emit(": ")
                    self.walk(v)
            else:
                for item in value:
                    if not first:
                        self.emit(", ")
                    first = False
                    self.walk(item)
                if isinstance(value, tuple) and len(value) == 1:
                    self.emit(",")
            self.emit(close)
            self.emit(suffix)
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


_BUILTIN_REPRS = {cls.__repr__ for cls in (list, tuple, dict, set, frozenset)}


def _builtin_repr(t: type) -> bool:
    """Subclasses of builtin containers that kept the builtin ``__repr__`` (named tuples did not)."""
    return t.__repr__ in _BUILTIN_REPRS and not hasattr(t, "_fields")


def _object_repr(value, room: int) -> str:
    """The repr of anything that is not a builtin scalar, text or container, without addresses."""
    t = type(value)
    if t.__repr__ is object.__repr__:
        return f"<{_type_name(t)} object>"
    if isinstance(value, _FUNCTIONS) and t.__repr__ in (types.FunctionType.__repr__, types.BuiltinFunctionType.__repr__,
                                                          types.MethodType.__repr__):
        return f"<function {getattr(value, '__qualname__', getattr(value, '__name__', '?'))}>"
    if t in (type,) or isinstance(value, type):
        return repr(value)
    text = _timed_repr(value)
    if type(text) is not str:
        text = str(text)
    if len(text) > room + 4096:
        text = text[: room + 4096]
    return _ADDRESS.sub("", text)


def _cut(text: str, limit: int, rest: int | None) -> str:
    if rest is None:
        return text[:limit] + "..."
    return f"{text[:limit]}...<+{rest} chars>"


def safe_repr(value, limit: int = DEFAULT_LIMIT) -> str:
    """``repr(value)`` bounded to ``limit`` characters; never raises, never hangs, no addresses."""
    try:
        t = type(value)
        if t in _SCALARS:
            text = repr(value)
        elif t is str:
            if len(value) > limit:
                return _cut(repr(value[:limit]), limit, len(value) - limit)
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
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a repr must never take the recorder down
        return _failure_text(exc)


def _failure_text(exc: BaseException) -> str:
    """What a failed repr shows: ``<repr timed out>`` or ``<repr raised X: msg>``."""
    if isinstance(exc, _ReprTimedOut):
        return "<repr timed out>"
    if isinstance(exc, RecursionError):
        return "<repr raised RecursionError: too deep (a cycle?)>"
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001
        message = "?"
    message = _ADDRESS.sub("", message)
    if len(message) > 100:
        message = message[:100] + "..."
    return f"<repr raised {type(exc).__name__}: {message}>" if message else f"<repr raised {type(exc).__name__}>"
