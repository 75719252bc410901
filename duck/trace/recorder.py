"""The in-process tracer: records call/line/return/exception events of the user's own code.

``Recorder`` hooks the interpreter (``sys.monitoring`` on Python 3.12+, with events switched
off for every code object that is not the user's; ``sys.settrace`` on 3.11, returning no local
tracer for library frames) and keeps, per event, only what the trace format needs: the locals
that changed since the frame's previous event (safe reprs; in-place mutation is caught by
comparing the safe repr of mutable values), return values, exceptions, and the program's
output and standard input read, attributed to the step during which they happened. The hot
path stores compact tuples; text is built only when a batch is handed to the sink
(``format_events``/``event_dicts``). Only the thread that started the recorder is recorded.

``record_call`` traces one call in this process (used by the corpus and the evaluator).
This module does not start processes or enforce wall-time/memory limits (``runner`` and
``_child`` do) and does not interpret traces (``duck.session`` does). Stdlib only.
"""

from __future__ import annotations

import dis
import io
import os
import sys
import threading
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_str
from pathlib import Path
from typing import Callable

from duck.trace.limits import Limits
from duck.trace.saferepr import safe_repr

_NoneType = type(None)
# Values of these types never change in place: an identical object means an unchanged value.
_STABLE = frozenset({int, float, bool, str, bytes, _NoneType, complex, range, type, frozenset,
                     type(print), type(len.__call__), type(lambda: 0), type(sys)})
# type -> whether an unchanged identity means an unchanged repr (filled lazily)
_stable: dict[type, bool] = {}
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
_YIELD_VALUE = dis.opmap.get("YIELD_VALUE")
_DUCK_DIR = str(Path(__file__).resolve().parents[1]) + os.sep


class StepLimitReached(BaseException):
    """Raised into the program when ``max_steps`` events were recorded (a BaseException so the program cannot catch it by accident)."""


def default_excludes() -> list[str]:
    """Paths that are never the user's: the standard library, site-packages, the virtualenv, duck itself."""
    import sysconfig

    paths = {_DUCK_DIR, sys.prefix + os.sep, sys.base_prefix + os.sep, sys.exec_prefix + os.sep}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            paths.add(value.rstrip(os.sep) + os.sep)
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            paths.add(entry.rstrip(os.sep) + os.sep)
    return sorted(paths)


class FileFilter:
    """Decides once per file whether its code is the user's: under an include prefix and under no exclude prefix.

    An exclude prefix only wins over an include prefix that is shorter (less specific), so a
    script that lives inside a virtualenv folder the user named with ``--include`` is still
    recorded. Names such as ``<sample>`` match only when listed in ``include`` exactly.
    """

    def __init__(self, include: list[str], exclude: list[str], implicit_exclude: list[str] | None = None) -> None:
        self.include = [self._norm(p) for p in include]
        self.exclude = [self._norm(p) for p in exclude]
        self.implicit = [self._norm(p) for p in (implicit_exclude if implicit_exclude is not None else default_excludes())]
        self._cache: dict[str, bool] = {}

    @staticmethod
    def _norm(path: str) -> str:
        if path.startswith("<"):
            return path
        path = os.path.abspath(path)
        return path if path.endswith(os.sep) or os.path.isfile(path) else path + os.sep

    def __call__(self, filename: str) -> bool:
        known = self._cache.get(filename)
        if known is None:
            known = self._cache[filename] = self._decide(filename)
        return known

    def _decide(self, filename: str) -> bool:
        if filename.startswith("<"):
            return filename in self.include
        path = os.path.abspath(filename)
        best_include = max((len(p) for p in self.include if path == p or path.startswith(p)), default=-1)
        if best_include < 0:
            return False
        for p in self.exclude:
            if path == p or path.startswith(p):
                return False
        for p in self.implicit:
            if (path == p or path.startswith(p)) and len(p) > best_include:
                return False
        return True


class _Frame:
    """What the recorder keeps about one activation of a recorded frame."""

    __slots__ = ("fid", "prefix", "snap", "code", "raised", "module")

    def __init__(self, fid: int, code) -> None:
        self.fid = fid
        self.module = code.co_name == "<module>"  # its locals are globals: leave out __name__ & co.
        self.prefix = ""
        self.snap: dict[str, tuple] = {}
        self.code = code
        self.raised = False


# One recorded event, as stored on the hot path:
# (kind, line, frame prefix text, changes [(name, repr), ...] or None, deleted names or None, extra)
# where extra is the return value's repr, (exc_type, exc_msg), or None.


class Recorder:
    """Traces the user's code in the current thread and hands batches of events to ``sink``.

    ``sink(batch, first_step, outputs)`` receives a list of stored events, the step number of
    the first, and ``{step: [(stream, text), ...]}`` for their output; it is called every
    ``batch_size`` events and at ``flush()``. With ``sink=None`` events stay in memory.
    """

    def __init__(self, is_user: Callable[[str], bool], limits: Limits = Limits(), *,
                 sink: Callable | None = None, batch_size: int = 4096,
                 on_limit: Callable[[str], None] | None = None) -> None:
        self.is_user = is_user
        self.limits = limits
        self.repr_limit = limits.repr_limit
        self.max_steps = limits.max_steps
        self.sink = sink
        self.batch_size = batch_size if sink is not None else 1 << 62
        self.events: list[tuple] = []
        self.first_step = 0          # step number of self.events[0]
        self.steps = 0               # events recorded so far
        self.outputs: dict[int, list] = {}
        self.files: dict[str, None] = {}
        self.stopped_by: str | None = None
        self.on_limit = on_limit
        self._frames: dict[int, _Frame] = {}
        self._stack: list[_Frame] = []
        self._next_fid = 0
        self._user_codes: dict[object, bool] = {}
        self._thread = threading.get_ident()
        self._pid = os.getpid()
        self._active = False
        self._tool: int | None = None
        self.tracer = "monitoring" if hasattr(sys, "monitoring") else "settrace"

    # ----------------------------------------------------------------------------- control
    def start(self) -> None:
        self._thread = threading.get_ident()
        self._pid = os.getpid()
        self._active = True
        if self.tracer == "monitoring":
            self._start_monitoring()
        else:
            sys.settrace(self._global_trace)

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        if self.tracer == "monitoring" and self._tool is not None:
            mon = sys.monitoring
            mon.set_events(self._tool, 0)
            for code in [c for c, user in self._user_codes.items() if user]:
                try:
                    mon.set_local_events(self._tool, code, 0)
                except ValueError:
                    pass
            for event in (mon.events.PY_START, mon.events.PY_RESUME, mon.events.PY_RETURN, mon.events.PY_YIELD,
                          mon.events.LINE, mon.events.RAISE, mon.events.PY_UNWIND):
                mon.register_callback(self._tool, event, None)
            mon.free_tool_id(self._tool)
            self._tool = None
        elif sys.gettrace() == self._global_trace:
            sys.settrace(None)

    def forget_after_fork(self) -> None:
        """In a forked child: stop recording and drop the buffer, so the fork never writes into the trace."""
        self._active = False
        self.events = []
        self.outputs = {}
        self.sink = None
        if self.tracer == "monitoring" and self._tool is not None:
            sys.monitoring.set_events(self._tool, 0)
        else:
            sys.settrace(None)

    def flush(self, final: bool = True) -> None:
        """Hand the buffered events to the sink (all of them, or all but the last when ``final`` is false)."""
        if self.sink is None or os.getpid() != self._pid or not self.events:
            return
        keep = 0 if final else 1
        batch = self.events[: len(self.events) - keep]
        if not batch:
            return
        first = self.first_step
        last = first + len(batch)
        outputs = {s: self.outputs.pop(s) for s in [s for s in self.outputs if s < last]}
        self.events = self.events[len(batch):]
        self.first_step = last
        self.sink(batch, first, outputs)

    # --------------------------------------------------------------------- output and stdin
    def note_output(self, stream: str, text: str) -> None:
        """Attribute ``text`` written to ``stream`` (``stdout``, ``stderr`` or ``stdin`` for reads) to the current step."""
        if os.getpid() != self._pid:
            return
        step = max(self.steps - 1, 0)
        self.outputs.setdefault(step, []).append((stream, text))

    # ------------------------------------------------------------------------ the hot path
    def _code_is_user(self, code) -> bool:
        known = self._user_codes.get(code)
        if known is None:
            known = self._user_codes[code] = self.is_user(code.co_filename)
            if known:
                self.files[code.co_filename] = None
        return known

    def _emit(self, kind: str, line: int, frame_state: _Frame, changes, deleted, extra) -> None:
        self.events.append((kind, line, frame_state.prefix, changes, deleted, extra))
        self.steps += 1
        if len(self.events) > self.batch_size:
            self.flush(final=False)
        if self.steps >= self.max_steps:
            self.stopped_by = "max_steps"
            self.stop()
            if self.on_limit is not None:
                self.on_limit("max_steps")
            raise StepLimitReached(f"the recording reached its limit of {self.max_steps} steps")

    def _diff(self, state: _Frame, frame):
        """The locals of ``frame`` that are new or changed since ``state.snap``, and the names that disappeared."""
        snap = state.snap
        changes = None
        limit = self.repr_limit
        seen = 0
        module = state.module
        for name, value in frame.f_locals.items():
            seen += 1
            if module and name[:2] == "__":
                continue
            old = snap.get(name)
            t = type(value)
            stable = _stable.get(t)
            if stable is None:
                stable = _stable[t] = t in _STABLE or t.__repr__ is object.__repr__
            if old is not None and old[0] is value and stable:
                continue
            if t is int or t is float or t is bool:
                try:  # the common case, without a call into safe_repr
                    text = repr(value)
                    if len(text) > limit:
                        text = safe_repr(value, limit)
                except ValueError:  # an int too long to print
                    text = safe_repr(value, limit)
            else:
                text = safe_repr(value, limit)
            snap[name] = (value if stable else None, text)
            if old is None or old[1] != text:
                if changes is None:
                    changes = [(name, text)]
                else:
                    changes.append((name, text))
        deleted = None
        if seen < len(snap) or module:
            names = frame.f_locals
            deleted = [name for name in snap if name not in names] or None
            for name in deleted or ():
                del snap[name]
        return changes, deleted

    def _enter(self, frame, code, may_resume: bool) -> None:
        key = id(frame)
        state = self._frames.get(key) if may_resume else None
        resumed = state is not None and state.code is code
        if not resumed:
            state = _Frame(self._next_fid, code)
            self._next_fid += 1
            self._frames[key] = state
        stack = self._stack
        parent = stack[-1].fid if stack else None
        state.prefix = '"file":%s,"func":%s,"depth":%d,"frame":%d,"parent":%s' % (
            _json_str(code.co_filename), _json_str(code.co_qualname if hasattr(code, "co_qualname") else code.co_name),
            len(stack), state.fid, "null" if parent is None else parent)
        stack.append(state)
        changes, deleted = self._diff(state, frame)
        line = code.co_firstlineno if not resumed else (frame.f_lineno or code.co_firstlineno)
        self._emit("call", line, state, changes, deleted, None)

    def _line(self, frame, line: int) -> None:
        state = self._frames.get(id(frame))
        if state is None:
            return
        state.raised = False
        changes, deleted = self._diff(state, frame)
        self._emit("line", line, state, changes, deleted, None)

    def _leave(self, frame, value, *, keep: bool, unwinding: bool) -> None:
        key = id(frame)
        state = self._frames.get(key)
        if state is None:
            return
        changes, deleted = self._diff(state, frame)
        stack = self._stack
        if stack and stack[-1] is state:
            stack.pop()
        elif state in stack:
            stack.remove(state)
        if not keep:
            del self._frames[key]
        extra = None if unwinding else safe_repr(value, self.repr_limit)
        self._emit("return", frame.f_lineno or 0, state, changes, deleted, extra)

    def _raise(self, frame, exc: BaseException) -> None:
        state = self._frames.get(id(frame))
        if state is None or isinstance(exc, StepLimitReached):
            return
        state.raised = True
        changes, deleted = self._diff(state, frame)
        self._emit("exception", frame.f_lineno or 0, state, changes, deleted, exception_summary(exc, self.repr_limit))

    # ------------------------------------------------------------------- sys.monitoring (3.12+)
    def _start_monitoring(self) -> None:
        mon = sys.monitoring
        for tool in (mon.DEBUGGER_ID, 1, 3, 4, 5):
            try:
                mon.use_tool_id(tool, "duck")
            except ValueError:
                continue
            self._tool = tool
            break
        else:
            self.tracer = "settrace"
            sys.settrace(self._global_trace)
            return
        ev = mon.events
        self._local_events = ev.PY_RESUME | ev.PY_RETURN | ev.PY_YIELD | ev.LINE
        DISABLE = mon.DISABLE
        get_ident = threading.get_ident
        main = self._thread
        getframe = sys._getframe
        code_is_user = self._code_is_user
        tool = self._tool
        set_local = mon.set_local_events
        local_events = self._local_events
        user_codes = self._user_codes

        def on_start(code, offset):
            if get_ident() != main:
                return None
            user = user_codes.get(code)
            if user is None:
                user = code_is_user(code)
                if user:
                    set_local(tool, code, local_events)
            if not user:
                return DISABLE
            try:
                self._enter(getframe(1), code, False)
            except (RecursionError, MemoryError):
                pass
            return None

        def on_resume(code, offset):
            if get_ident() != main:
                return None
            try:
                self._enter(getframe(1), code, True)
            except (RecursionError, MemoryError):
                pass
            return None

        def on_line(code, line):
            if get_ident() != main:
                return None
            try:
                self._line(getframe(1), line)
            except (RecursionError, MemoryError):
                pass
            return None

        def on_return(code, offset, value):
            if get_ident() != main:
                return None
            try:
                self._leave(getframe(1), value, keep=False, unwinding=False)
            except (RecursionError, MemoryError):
                pass
            return None

        def on_yield(code, offset, value):
            if get_ident() != main:
                return None
            try:
                self._leave(getframe(1), value, keep=True, unwinding=False)
            except (RecursionError, MemoryError):
                pass
            return None

        def on_raise(code, offset, exc):
            if get_ident() != main or not user_codes.get(code):
                return None
            try:
                self._raise(getframe(1), exc)
            except (RecursionError, MemoryError):
                pass
            return None

        def on_unwind(code, offset, exc):
            if get_ident() != main or not user_codes.get(code):
                return None
            try:
                self._leave(getframe(1), None, keep=False, unwinding=True)
            except (RecursionError, MemoryError):
                pass
            return None

        mon.register_callback(tool, ev.PY_START, on_start)
        mon.register_callback(tool, ev.PY_RESUME, on_resume)
        mon.register_callback(tool, ev.LINE, on_line)
        mon.register_callback(tool, ev.PY_RETURN, on_return)
        mon.register_callback(tool, ev.PY_YIELD, on_yield)
        mon.register_callback(tool, ev.RAISE, on_raise)
        mon.register_callback(tool, ev.PY_UNWIND, on_unwind)
        mon.set_events(tool, ev.PY_START | ev.RAISE | ev.PY_UNWIND)

    # ---------------------------------------------------------------------- sys.settrace (3.11)
    def _global_trace(self, frame, event, arg):
        if event != "call":
            return None
        code = frame.f_code
        user = self._user_codes.get(code)
        if user is None:
            user = self._code_is_user(code)
        if not user or not self._active:
            return None
        try:
            self._enter(frame, code, bool(code.co_flags & _GENERATOR_FLAGS))
        except (RecursionError, MemoryError):
            return None
        return self._local_trace

    def _local_trace(self, frame, event, arg):
        try:
            if event == "line":
                self._line(frame, frame.f_lineno)
            elif event == "return":
                state = self._frames.get(id(frame))
                unwinding = state is not None and state.raised
                code = frame.f_code
                yielded = (not unwinding and code.co_flags & _GENERATOR_FLAGS
                           and frame.f_lasti >= 0 and code.co_code[frame.f_lasti] == _YIELD_VALUE)
                self._leave(frame, arg, keep=bool(yielded), unwinding=unwinding)
            elif event == "exception":
                self._raise(frame, arg[1])
        except (RecursionError, MemoryError):
            pass
        return self._local_trace


def exception_summary(exc: BaseException, limit: int = 200) -> tuple[str, str]:
    """(qualified type name for non-builtins, bounded ``str()``) of an exception; never raises."""
    t = type(exc)
    name = t.__qualname__ if t.__module__ in ("builtins", "__main__") else f"{t.__module__}.{t.__qualname__}"
    try:
        message = str(exc)
    except BaseException as inner:  # noqa: BLE001
        message = f"<str raised {type(inner).__name__}>"
    if len(message) > limit:
        message = message[:limit] + "..."
    return name, message


# ------------------------------------------------------------------------- turning into records
def format_events(batch: list[tuple], first_step: int, outputs: dict[int, list]) -> str:
    """JSON Lines text of a batch of stored events (the trace format's event records)."""
    lines = []
    append = lines.append
    step = first_step - 1
    names = _encoded_names
    for kind, line, prefix, changes, deleted, extra in batch:
        step += 1
        if changes is None and deleted is None and extra is None and step not in outputs:
            append('{"step":%d,"event":"%s","line":%d,%s}\n' % (step, kind, line, prefix))
            continue
        parts = ['{"step":%d,"event":"%s","line":%d,%s' % (step, kind, line, prefix)]
        if changes:
            parts.append(',"changes":{%s}' % ",".join(
                [(names.get(name) or _encode_name(name)) + _json_str(text) for name, text in changes]))
        if deleted:
            parts.append(',"deleted":[%s]' % ",".join(_json_str(n) for n in deleted))
        if extra is not None:
            if kind == "return":
                parts.append(',"value":%s' % _json_str(extra))
            else:
                parts.append(',"exc_type":%s,"exc_msg":%s' % (_json_str(extra[0]), _json_str(extra[1])))
        written = outputs.get(step)
        if written:
            for stream, text in _join_streams(written).items():
                parts.append(',"%s":%s' % (stream, _json_str(text)))
        parts.append("}\n")
        append("".join(parts))
    return "".join(lines)


_encoded_names: dict[str, str] = {}


def _encode_name(name: str) -> str:
    """``"name":`` as JSON, remembered (locals' names repeat on nearly every event)."""
    encoded = _encoded_names[name] = _json_str(name) + ":"
    return encoded


def _join_streams(written: list) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for stream, text in written:
        joined.setdefault(stream, []).append(text)
    return {stream: "".join(texts) for stream, texts in joined.items()}


def event_dicts(batch: list[tuple], first_step: int, outputs: dict[int, list]) -> list[dict]:
    """The same events as ``format_events``, as dicts."""
    import json

    return [json.loads(line) for line in format_events(batch, first_step, outputs).splitlines()]


# ------------------------------------------------------------------------ output capture
class CapturedStream(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr``: notes every write for the recorder, passes it on (or not).

    ``on_write(stream_name, text)`` may raise to stop the program (the output limit).
    """

    def __init__(self, name: str, inner, on_write: Callable[[str, str], None], *, passthrough: bool) -> None:
        self._name = name
        self._inner = inner
        self._on_write = on_write
        self._passthrough = passthrough and inner is not None

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._on_write(self._name, text)
        if self._passthrough:
            self._inner.write(text)
            if "\n" in text or self._name == "stderr":
                self._inner.flush()
        return len(text)

    def flush(self) -> None:
        if self._passthrough:
            self._inner.flush()

    def isatty(self) -> bool:
        return bool(self._inner is not None and self._passthrough and self._inner.isatty())

    def fileno(self) -> int:
        if self._inner is None:
            raise io.UnsupportedOperation("fileno")
        return self._inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self):
        return getattr(self._inner, "encoding", "utf-8")

    @property
    def errors(self):
        return getattr(self._inner, "errors", "strict")

    @property
    def buffer(self):
        return getattr(self._inner, "buffer", None)


class RecordedStdin(io.TextIOBase):
    """Stands in for ``sys.stdin``: reads from the real one and notes what was read (for replay).

    It has no ``fileno()``, so ``input()`` reads through it instead of going to the terminal directly.
    """

    def __init__(self, inner, on_read: Callable[[str, str], None]) -> None:
        self._inner = inner
        self._on_read = on_read
        self.consumed: list[str] = []

    def _note(self, text: str) -> str:
        if text:
            self.consumed.append(text)
            self._on_read("stdin", text)
        return text

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        return self._note(self._inner.read(size) if self._inner is not None else "")

    def readline(self, size: int | None = -1) -> str:
        return self._note(self._inner.readline(size) if self._inner is not None else "")

    def readlines(self, hint: int = -1) -> list[str]:
        return [self._note(line) for line in (self._inner.readlines(hint) if self._inner is not None else [])]

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def isatty(self) -> bool:
        return bool(self._inner is not None and self._inner.isatty())

    @property
    def encoding(self):
        return getattr(self._inner, "encoding", "utf-8")

    @property
    def buffer(self):
        return getattr(self._inner, "buffer", None)


# --------------------------------------------------------------------------- record_call
@dataclass
class CallRecording:
    """One traced call: its events (trace-format dicts), result (safe repr), exception and source."""

    events: list[dict]
    value: str | None
    exception: tuple[str, str] | None
    source: str
    stdout: str = ""
    stopped_by: str | None = None
    tracer: str = field(default="")


def record_call(code: str, call: str, filename: str = "<sample>", limits: Limits = Limits(),
                extra_globals: dict | None = None) -> CallRecording:
    """Execute ``code`` (a module's source) under ``filename``, then trace the evaluation of ``call``.

    Only frames whose code comes from ``filename`` are recorded. The module body itself runs
    untraced. Output written during the call is captured (not printed) and attributed to steps.
    A ``SyntaxError`` or an exception in the module body is reported as ``exception``.
    ``extra_globals`` are added to the module's namespace after it ran (e.g. the call's arguments).
    """
    namespace: dict = {"__name__": "__duck_sample__", "__builtins__": __builtins__}
    import linecache

    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        exec(compile(code, filename, "exec"), namespace)
        namespace.update(extra_globals or {})
        call_code = compile(call, "<duck-call>", "eval")
    except BaseException as exc:  # noqa: BLE001 - the sample's problem, reported as its result
        if isinstance(exc, KeyboardInterrupt):
            raise
        return CallRecording([], None, exception_summary(exc, limits.repr_limit), code)
    recorder = Recorder(lambda f: f == filename, limits)
    out = io.StringIO()
    stream = CapturedStream("stdout", out, recorder.note_output, passthrough=True)
    saved_stdout = sys.stdout
    value = exception = None
    sys.stdout = stream
    recorder.start()
    try:
        result = eval(call_code, namespace)
    except StepLimitReached:
        exception = ("StepLimitReached", f"stopped after {limits.max_steps} steps")
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        exception = exception_summary(exc, limits.repr_limit)
    else:
        value = safe_repr(result, limits.repr_limit)
    finally:
        recorder.stop()
        sys.stdout = saved_stdout
    events = event_dicts(recorder.events, 0, recorder.outputs)
    return CallRecording(events, value, exception, code, out.getvalue(), recorder.stopped_by, recorder.tracer)
