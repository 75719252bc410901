"""The in-process tracer: records call/line/return/exception events of the user's own code.

``Recorder`` hooks the interpreter and keeps, per event, only what the trace format needs: the
locals that changed since the frame's previous event (safe reprs; in-place mutation is caught by
comparing the safe repr of mutable values, see ``localdiff``), return values, exceptions, and the
program's output and standard input read, attributed to the step during which they happened.
The hot path appends to the columns of a ``store.Events`` run; text is built only when a run is
handed to the sink (``format_events``/``event_dicts``). Only the thread that started the
recorder is recorded.

Mechanism and policy are apart: which code is the user's is ``policy.FileFilter``'s to say
(asked once per code object); the mechanisms are ``sys.settrace`` on 3.11 (here: no local trace
for library frames) and ``sys.monitoring`` on 3.12+ (``monitoring``: events switched off per code
object), and each has a C path and a pure-Python one. ``_make_hooks`` gives both mechanisms the
same handlers (``_Hooks``): Python closures over the store's columns, the fallback and what the C
path hands on. Where ``duck.trace._speedups`` is built, its ``LineRecorder`` handles in C the
line events (most of a trace), the calls of code already known to be the user's (not
generators: their resumes are Python's) and the returns (on 3.11 not those of generators or of
frames that raised); on 3.11 it is installed as a C trace function and reads the frames' fast
locals directly (see ``_speedups.c``). The diff of locals is C as well.

``record_call`` (``duck.trace.call``, offered here too) traces one call in this process.
This module does not start processes or enforce wall-time/memory limits (``runner`` and
``_child`` do) and does not interpret traces (``duck.session`` does). Stdlib only.
"""

from __future__ import annotations

import _signal  # the C module: ``signal`` would import enum into every recording child
import io
import os
import sys
from _thread import get_ident as _get_ident  # not threading: it brings functools and collections to the child's start-up
from _collections_abc import Callable  # collections.abc without the collections package (start-up)
from opcode import opmap  # not dis, which would cost the recording child its start-up time

from duck.trace import monitoring
from duck.trace.limits import Limits
from duck.trace.localdiff import IMPLEMENTATION as DIFF_IMPLEMENTATION, diff_locals, set_user_repr, speedups
from duck.trace.saferepr import safe_repr
from duck.trace.store import CALL, EXCEPTION, LINE, RETURN, VALUE, Events, FrameTable, event_dicts, format_events
from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...
from duck.trace.policy import _DUCK_DIR, FileFilter, default_excludes  # noqa: F401 - the policy, re-exported

__all__ = ["CALL", "EXCEPTION", "LINE", "RETURN", "CallRecording", "FileFilter", "Recorder", "StepLimitReached",
           "event_dicts", "exception_summary", "format_events", "record_call"]

_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
_YIELD_VALUE = opmap.get("YIELD_VALUE")
_pthread_sigmask = getattr(_signal, "pthread_sigmask", None)  # bound now: a program may replace signal's
_SIG_BLOCK, _SIG_SETMASK = getattr(_signal, "SIG_BLOCK", 0), getattr(_signal, "SIG_SETMASK", 2)
#: The signals a flush holds back: all but those a fault raises synchronously (blocking them kills).
_ASYNC_SIGNALS = frozenset() if _pthread_sigmask is None else frozenset(_signal.valid_signals()) - {
    getattr(_signal, name) for name in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGKILL",
                                        "SIGSTOP") if hasattr(_signal, name)}


class StepLimitReached(BaseException):
    """Raised into the program when ``max_steps`` events were recorded (a BaseException so the program cannot catch it by accident)."""


class _Frame:
    """What the recorder keeps about one activation of a recorded frame (``_speedups.FrameState`` where built)."""

    __slots__ = ("fid", "ctx", "snap", "code", "raised", "module")

    def __init__(self, fid: int, code) -> None:
        self.fid = fid
        self.ctx = 0  # row of its current entry in the FrameTable
        self.module = code.co_name == "<module>"  # its locals are globals: leave out __name__ & co.
        self.snap: dict[str, tuple] = {}
        self.code = code
        self.raised = False


class _Hooks:
    """What ``Recorder._make_hooks`` gives the backends: the Python event handlers and, where built, the C one.

    ``enter(frame, code, may_resume)``, ``leave(frame, value, is_yield, unwinding)`` and
    ``raise_(frame, exc)`` record a call, a return and an exception; ``local_trace`` is the
    sys.settrace per-frame function and ``on_line`` the sys.monitoring LINE callback (the C
    ``LineRecorder`` and its ``on_line`` where ``fast`` is set); ``set_budget()`` recounts how
    many events may pass before the next checkpoint.
    """

    __slots__ = ("enter", "leave", "raise_", "set_budget", "local_trace", "on_line", "fast")

    def __init__(self, enter, leave, raise_, set_budget, local_trace, on_line, fast) -> None:
        self.enter, self.leave, self.raise_, self.set_budget = enter, leave, raise_, set_budget
        self.local_trace, self.on_line, self.fast = local_trace, on_line, fast


class Recorder:
    """Traces the user's code in the current thread and hands runs of events to ``sink``.

    ``sink(events, frames, outputs)`` receives a ``store.Events`` run, the ``store.FrameTable``
    its rows refer to and ``{step: [(stream, text), ...]}`` for their output; it is called
    every ``batch_size`` events and at ``flush()``. With ``sink=None`` events stay in memory
    (``self.runs``, packed every ``batch_size`` events; ``all_events()`` gives them as dicts).
    """

    def __init__(self, is_user: Callable[[str], bool], limits: Limits = Limits(), *,
                 sink: Callable | None = None, batch_size: int = 8192,
                 on_limit: Callable[[str], None] | None = None) -> None:
        self.is_user = is_user
        self.limits = limits
        self.repr_limit = limits.repr_limit
        self.max_steps = limits.max_steps
        self.sink = sink
        self.batch_size = batch_size
        self.open = Events(0)        # the events not yet handed to the sink / packed
        self.runs: list[Events] = []  # packed runs (sink=None only)
        self.frames_table = FrameTable()
        self.outputs: dict[int, list] = {}
        self.files: dict[str, None] = {}
        self.stopped_by: str | None = None
        self.on_limit = on_limit
        self._frames: dict[int, _Frame] = {}
        self._stack: list[_Frame] = []
        self._next_fid = 0
        self._user_codes: dict[object, bool] = {}
        self._thread = _get_ident()
        self._pid = os.getpid()
        self._active = False
        self._tool: int | None = None
        self.tracer = "monitoring" if hasattr(sys, "monitoring") else "settrace"
        self.diff_implementation = DIFF_IMPLEMENTATION
        self._hooks = self._make_hooks()

    @property
    def _local_trace(self):
        """The per-frame trace function (sys.gettrace() while recording on 3.11): _child compares with it."""
        return self._hooks.local_trace

    @property
    def steps(self) -> int:
        """Events recorded so far."""
        return self.open.first_step + len(self.open)

    # ----------------------------------------------------------------------------- control
    def start(self) -> None:
        set_user_repr(self.limits.user_repr)
        self._thread = _get_ident()
        self._pid = os.getpid()
        self._active = True
        self._hooks = hooks = self._make_hooks()  # bound to this thread
        hooks.set_budget()
        if self.tracer == "monitoring":
            monitoring.start(self)
        elif hooks.fast is not None:  # the compiled path is the global trace function as well
            hooks.fast.calls(self, self._user_codes, self.frames_table, self._global_trace, None)
            hooks.fast.install()  # a C trace function: no locals dict built around each event
        else:
            sys.settrace(self._global_trace)

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        if self.limits.user_repr:
            set_user_repr(False)
        if self.tracer == "monitoring" and self._tool is not None:
            monitoring.stop(self)
        elif sys.gettrace() in (self._global_trace, self._local_trace):
            sys.settrace(None)

    def forget_after_fork(self) -> None:
        """In a forked child: stop recording and drop the buffer, so the fork never writes into the trace."""
        self._active = False
        self.open = Events(self.steps)
        self.outputs = {}
        self.sink = None
        if self.tracer == "monitoring" and self._tool is not None:
            sys.monitoring.set_events(self._tool, 0)
        else:
            sys.settrace(None)

    def flush(self, final: bool = True) -> None:
        """Hand the open events to the sink (all of them, or all but the last when ``final`` is false).

        The last event is kept back while the program runs because output it writes is still
        attributed to it. Without a sink the events are packed into ``self.runs`` instead.
        """
        if os.getpid() != self._pid:
            return
        n = len(self.open) - (0 if final else 1)
        if n <= 0:
            return
        if _ASYNC_SIGNALS:
            # A program's signal handler runs as Python code at the next bytecode, which may be
            # here: one that raises (an alarm's Timeout) between the take and the write lost the
            # events taken. Blocked, the signal waits for the write to end, then runs as before.
            # The mask is read before anything is blocked: pthread_sigmask runs the handlers of
            # signals already caught once it has changed the mask, so the blocking call itself may
            # raise, and the mask must be put back then too (else the thread ignores SIGINT, SIGTERM
            # and the program's alarms for good, and every process it starts inherits that).
            previous = _pthread_sigmask(_SIG_BLOCK, ())
            try:
                _pthread_sigmask(_SIG_BLOCK, _ASYNC_SIGNALS)
                self._hand_over(n)
            finally:
                _pthread_sigmask(_SIG_SETMASK, previous)
        else:
            self._hand_over(n)

    def _hand_over(self, n: int) -> None:
        run = self.open.take(n)
        if self.sink is None:
            self.runs.append(run.pack())
            return
        last = run.first_step + n
        outputs = {s: self.outputs.pop(s) for s in [s for s in self.outputs if s < last]}
        self.sink(run, self.frames_table, outputs)

    def all_events(self) -> list[dict]:
        """Every event recorded in memory (``sink=None``), as trace-format dicts."""
        dicts = []
        for run in [*self.runs, self.open]:
            dicts.extend(event_dicts(run, self.frames_table, self.outputs))
        return dicts

    def _checkpoint(self) -> None:
        if self.steps >= self.max_steps:
            self.stopped_by = "max_steps"
            self.stop()
            if self.on_limit is not None:
                self.on_limit("max_steps")
            raise StepLimitReached(f"the recording reached its limit of {self.max_steps} steps")
        if len(self.open) > self.batch_size:
            self.flush(final=False)

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

    def _make_hooks(self) -> "_Hooks":
        """The event handlers, as closures over the store's columns (the fastest lookups Python has).

        The columns are mutated in place (``Events.take`` deletes from the front), never
        replaced, so the bound ``append`` methods stay valid for the recorder's lifetime.
        """
        events = self.open
        kind_line_append = events.kind_line.append
        ctx_append = events.ctx.append
        nchanges_append = events.nchanges.append
        names = events.names
        texts = events.texts
        rare = events.rare
        frames = self._frames
        frames_get = frames.get
        stack = self._stack
        table_add = self.frames_table.add
        limit = self.repr_limit
        diff = diff_locals
        recorder = self
        line_recorder_type = getattr(speedups, "LineRecorder", None)
        # the C twin of _Frame where built: the same attributes, which the C event paths read without lookups
        frame_type = getattr(speedups, "FrameState", _Frame)
        value_repr = speedups.safe_repr if speedups is not None else safe_repr

        def note_rare(result, exc=None) -> int:
            if type(result) is int:
                count, deleted = result, None
            else:
                count, deleted = result
            rare[recorder.steps] = (deleted, exc)
            return count

        checkpoint = recorder._checkpoint
        budget = 0  # events the hot path may add before it calls checkpoint (a flush, or the step limit)

        def set_budget() -> None:
            nonlocal budget
            budget = max(min(recorder.batch_size - len(events) + 1, recorder.max_steps - recorder.steps), 0)

        def checkpoint_after_event() -> None:
            nonlocal budget
            budget -= 1
            if budget <= 0:
                checkpoint()
                set_budget()

        def enter(frame, code, may_resume: bool) -> None:
            key = id(frame)
            state = frames_get(key) if may_resume else None
            resumed = state is not None and state.code is code
            if not resumed:
                state = frame_type(recorder._next_fid, code)
                recorder._next_fid += 1
                frames[key] = state
            state.ctx = table_add(state.fid, code, len(stack), stack[-1].fid if stack else -1)
            stack.append(state)
            n = diff(state.snap, frame.f_locals, state.module, limit, names, texts)
            if type(n) is not int:
                n = note_rare(n)
            line = code.co_firstlineno if not resumed else (frame.f_lineno or code.co_firstlineno)
            kind_line_append(line << 2)  # CALL
            ctx_append(state.ctx)
            nchanges_append(n)
            checkpoint_after_event()


        def leave(frame, value, keep: bool, unwinding: bool) -> None:
            key = id(frame)
            state = frames_get(key)
            if state is None:
                return
            n = diff(state.snap, frame.f_locals, state.module, limit, names, texts)
            if type(n) is not int:
                n = note_rare(n)
            if stack and stack[-1] is state:
                stack.pop()
            elif state in stack:
                stack.remove(state)
            if not keep:
                del frames[key]
            if not unwinding:
                names.append(VALUE)
                texts.append(value_repr(value, limit))
                n += 1
            kind_line_append((frame.f_lineno or 0) << 2 | RETURN)
            ctx_append(state.ctx)
            nchanges_append(n)
            checkpoint_after_event()

        def raise_(frame, exc: BaseException) -> None:
            state = frames_get(id(frame))
            if state is None or isinstance(exc, StepLimitReached):
                return
            state.raised = True
            n = note_rare(diff(state.snap, frame.f_locals, state.module, limit, names, texts),
                          exception_summary(exc, limit))
            kind_line_append((frame.f_lineno or 0) << 2 | EXCEPTION)
            ctx_append(state.ctx)
            nchanges_append(n)
            checkpoint_after_event()

        main = self._thread
        get_ident = _get_ident
        getframe = sys._getframe
        line_kind = LINE

        def local_trace(frame, event, arg):  # sys.settrace's per-frame function (3.11)
            nonlocal budget
            try:
                if event == "line":
                    state = frames_get(id(frame))
                    if state is not None:
                        state.raised = False
                        n = diff(state.snap, frame.f_locals, state.module, limit, names, texts)
                        if type(n) is not int:
                            n = note_rare(n)
                        kind_line_append(frame.f_lineno << 2 | line_kind)
                        ctx_append(state.ctx)
                        nchanges_append(n)
                        budget -= 1
                        if budget <= 0:
                            checkpoint()
                            set_budget()
                elif event == "return":
                    state = frames_get(id(frame))
                    unwinding = state is not None and state.raised
                    code = frame.f_code
                    yielded = (not unwinding and code.co_flags & _GENERATOR_FLAGS
                               and frame.f_lasti >= 0 and code.co_code[frame.f_lasti] == _YIELD_VALUE)
                    leave(frame, arg, bool(yielded), unwinding)
                elif event == "exception":
                    raise_(frame, arg[1])
            except (RecursionError, MemoryError):
                pass
            return local_trace

        def on_line(code, lineno):  # sys.monitoring's LINE callback (3.12+)
            nonlocal budget
            if get_ident() != main:
                return None
            try:
                frame = getframe(1)
                state = frames_get(id(frame))
                if state is not None:
                    n = diff(state.snap, frame.f_locals, state.module, limit, names, texts)
                    if type(n) is not int:
                        n = note_rare(n)
                    kind_line_append(lineno << 2 | line_kind)
                    ctx_append(state.ctx)
                    nchanges_append(n)
                    budget -= 1
                    if budget <= 0:
                        checkpoint()
                        set_budget()
            except (RecursionError, MemoryError):
                pass
            return None

        if line_recorder_type is None:
            return _Hooks(enter, leave, raise_, set_budget, local_trace, on_line, None)
        # The compiled line and return paths: they own the budget; the events Python still records (call,
        # exception, and on 3.11 the return of a generator or of a frame that raised) count through tick().
        settrace = self.tracer != "monitoring"

        def checkpoint_and_budget() -> None:
            checkpoint()
            set_budget_fast()

        fast = line_recorder_type(frames, names, texts, kind_line_append, ctx_append, nchanges_append, note_rare,
                                  checkpoint_and_budget, local_trace, limit, main, settrace, stack, VALUE)

        def set_budget_fast() -> None:
            fast.budget = max(min(recorder.batch_size - len(events) + 1, recorder.max_steps - recorder.steps), 0)

        checkpoint_after_event = fast.tick  # noqa: F841 - read by enter/leave/raise_ through the closure
        return _Hooks(enter, leave, raise_, set_budget_fast, fast, fast.on_line, fast)

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
            self._hooks.enter(frame, code, bool(code.co_flags & _GENERATOR_FLAGS))
        except (RecursionError, MemoryError):
            return None
        return self._hooks.local_trace


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


# ------------------------------------------------------------------------ output capture
class OutputTap:
    """Notes the bytes a program writes beneath the text layer (``sys.stdout.buffer``, ``os.write(1, ...)``).

    One tap per stream, so a character split between two writes is decoded whole; bytes that
    are not text in the stream's encoding are noted as U+FFFD. ``on_write`` is
    ``CapturedStream``'s (it may raise to stop the program at the output limit).
    """

    def __init__(self, name: str, on_write: Callable[[str, str], None], encoding: str | None) -> None:
        import codecs

        self._name = name
        self._on_write = on_write
        try:
            self._decoder = codecs.getincrementaldecoder(encoding or "utf-8")("replace")
        except LookupError:
            self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __call__(self, data) -> None:
        text = self._decoder.decode(bytes(data))
        if text:
            self._on_write(self._name, text)


class _CapturedBuffer:
    """``sys.stdout.buffer`` under duck: each write is noted by the stream's ``OutputTap``, then passed on (or not)."""

    def __init__(self, inner, tap: OutputTap, passthrough: bool) -> None:
        self._inner = inner
        self._tap = tap
        self._passthrough = passthrough

    def write(self, data) -> int:
        size = memoryview(data).nbytes  # raises TypeError for str, as BufferedWriter.write does
        self._tap(data)
        if self._passthrough:
            return self._inner.write(data)
        return size

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._passthrough:
            self._inner.flush()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


class CapturedStream(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr``: notes every write for the recorder, passes it on (or not).

    ``on_write(stream_name, text)`` may raise to stop the program (the output limit). Passed-on
    text is buffered by the real stream exactly as without duck (line-buffered at a terminal,
    block-buffered into a pipe), so a write to a closed descriptor fails where Python's would.
    ``buffer`` notes the bytes written to it through ``tap`` (an ``OutputTap``).
    """

    def __init__(self, name: str, inner, on_write: Callable[[str, str], None], *, passthrough: bool,
                 tap: OutputTap | None = None) -> None:
        self._name = name
        self._inner = inner
        self._on_write = on_write
        self._passthrough = passthrough and inner is not None
        inner_buffer = getattr(inner, "buffer", None)
        self._buffer = None
        if inner_buffer is not None:
            self._buffer = _CapturedBuffer(inner_buffer, tap or OutputTap(name, on_write, self.encoding),
                                           self._passthrough)

    def write(self, text: str) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._on_write(self._name, text)
        if self._passthrough:
            self._inner.write(text)
        return len(text)

    def flush(self) -> None:
        if self._passthrough and not self.closed:
            self._inner.flush()

    def close(self) -> None:
        if not self.closed:
            super().close()  # flushes first
            if self._passthrough:
                self._inner.close()

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
    def errors(self):
        return getattr(self._inner, "errors", "strict")

    @property
    def buffer(self):
        return self._buffer

    @property
    def line_buffering(self) -> bool:
        return bool(getattr(self._inner, "line_buffering", False))

    def __repr__(self) -> str:
        return repr(self._inner)


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
    def errors(self):
        return getattr(self._inner, "errors", "strict")

    @property
    def buffer(self):
        return getattr(self._inner, "buffer", None)


# --------------------------------------------------------------------------- record_call
def __getattr__(name: str):
    """``record_call`` and ``CallRecording`` live in ``duck.trace.call`` (not imported by the recording child)."""
    if name in ("record_call", "CallRecording"):
        from duck.trace import call

        return getattr(call, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
