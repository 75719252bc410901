"""The sys.monitoring backend of the recorder (Python 3.12+): the same events as sys.settrace's, cheaper.

``start(recorder)`` takes a free tool id (or falls back to sys.settrace when none is free),
registers the recorder's hooks as the PY_START / PY_RESUME / LINE / PY_RETURN / PY_YIELD /
RAISE / PY_UNWIND callbacks and switches local events on only for code the policy
(``recorder.is_user``) calls the user's; code that is not the user's gets ``DISABLE`` from its
first PY_START and costs nothing after. Where ``duck.trace._speedups`` is built, the line, return
and call-of-known-code callbacks are its ``LineRecorder``'s (C); the rest are the Python hooks
of ``Recorder._make_hooks``. ``stop(recorder)`` undoes all of it. This module decides nothing
about what is recorded and stores nothing itself.
"""

from __future__ import annotations

import sys
from _thread import get_ident as _get_ident  # not threading (its functools, collections: start-up)


def start(recorder) -> None:
    """Hook ``recorder`` (a ``duck.trace.recorder.Recorder``, its hooks made) into sys.monitoring."""
    mon = sys.monitoring
    for tool in (mon.DEBUGGER_ID, 1, 3, 4, 5):
        try:
            mon.use_tool_id(tool, "duck")
        except ValueError:
            continue
        recorder._tool = tool
        break
    else:
        recorder.tracer = "settrace"
        sys.settrace(recorder._global_trace)
        return
    ev = mon.events
    recorder._local_events = ev.PY_RESUME | ev.PY_RETURN | ev.PY_YIELD | ev.LINE
    DISABLE = mon.DISABLE
    get_ident = _get_ident
    main = recorder._thread
    getframe = sys._getframe
    code_is_user = recorder._code_is_user
    tool = recorder._tool
    set_local = mon.set_local_events
    local_events = recorder._local_events
    user_codes = recorder._user_codes
    enter, leave, raise_ = recorder._hooks.enter, recorder._hooks.leave, recorder._hooks.raise_

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
            enter(getframe(1), code, False)
        except (RecursionError, MemoryError):
            pass
        return None

    def on_resume(code, offset):
        if get_ident() != main:
            return None
        try:
            enter(getframe(1), code, True)
        except (RecursionError, MemoryError):
            pass
        return None

    def leaving(is_yield, unwinding):
        """The PY_RETURN / PY_YIELD / PY_UNWIND callback: the frame leaves (``leave``)."""
        def on_leave(code, offset, value):
            if get_ident() != main or (unwinding and not user_codes.get(code)):
                return None
            try:
                leave(getframe(1), None if unwinding else value, is_yield, unwinding)
            except (RecursionError, MemoryError):
                pass
            return None
        return on_leave

    on_return, on_yield, on_unwind = leaving(False, False), leaving(True, False), leaving(False, True)

    def on_raise(code, offset, exc):
        if get_ident() != main or not user_codes.get(code):
            return None
        try:
            raise_(getframe(1), exc)
        except (RecursionError, MemoryError):
            pass
        return None

    fast = recorder._hooks.fast
    if fast is not None:  # the compiled call and return paths, which hand what they do not handle to on_start
        fast.calls(recorder, user_codes, recorder.frames_table, recorder._global_trace, on_start)
        on_start, on_return = fast.on_start, fast.on_return
    mon.register_callback(tool, ev.PY_START, on_start)
    mon.register_callback(tool, ev.PY_RESUME, on_resume)
    mon.register_callback(tool, ev.LINE, recorder._hooks.on_line)
    mon.register_callback(tool, ev.PY_RETURN, on_return)
    mon.register_callback(tool, ev.PY_YIELD, on_yield)
    mon.register_callback(tool, ev.RAISE, on_raise)
    mon.register_callback(tool, ev.PY_UNWIND, on_unwind)
    mon.set_events(tool, ev.PY_START | ev.RAISE | ev.PY_UNWIND)


def stop(recorder) -> None:
    """Switch every event of ``recorder``'s tool off, unregister its callbacks and free the tool id."""
    mon = sys.monitoring
    mon.set_events(recorder._tool, 0)
    for code in [c for c, user in recorder._user_codes.items() if user]:
        try:
            mon.set_local_events(recorder._tool, code, 0)
        except ValueError:
            pass
    for event in (mon.events.PY_START, mon.events.PY_RESUME, mon.events.PY_RETURN, mon.events.PY_YIELD,
                  mon.events.LINE, mon.events.RAISE, mon.events.PY_UNWIND):
        mon.register_callback(recorder._tool, event, None)
    mon.free_tool_id(recorder._tool)
    recorder._tool = None
