"""Job functions that run inside a confined sandbox child: they run a snippet and return data.

``run_snippet(payload)`` executes ``code``, then evaluates ``call`` (an expression) and returns
its value as a type-tagged tree (``duck.sandbox.values``), what the snippet printed, and how
it ended; with ``coverage`` the (line, next line) arcs that the call ran. ``payload["args"]``
(a list of value trees) may stand for the call's arguments: the function named by ``call`` is
then called on the decoded values, so an input chosen by someone else never runs as code.

These functions are called by the fork server in a child that is already confined and that
exits afterwards; they hold no verdict (no expected value ever reaches them) and they are not
meant to be called in duck's own process.

``run_calls(payload)`` calls one function on many argument lists in one run (a benchmark's
inputs), each under a CPU-time limit, and returns every output as a value tree.
"""

from __future__ import annotations

import io
import random
import sys

from duck.sandbox.values import MAX_ITEMS, decode, digest, encode


class _BoundedText(io.TextIOBase):
    """A stdout replacement that keeps at most ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        if len(text) > room:
            self.truncated = True
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def exception_info(error: BaseException) -> dict:
    """Type and message of an exception, without trusting its ``__str__``."""
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - a snippet's __str__ may raise anything
        message = "<str() raised>"
    if not isinstance(message, str):
        message = "<str() returned a non-string>"
    if len(message) > 2000:
        message = message[:2000] + "..."
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    return {"type": name, "message": message}


def arc_tracer(filename: str, arcs: set):
    """A ``sys.settrace`` function collecting (previous line, line) arcs of ``filename``'s code;
    -1 stands for entering a frame, minus the ``def`` line for leaving it."""

    def global_trace(frame, event, arg):  # noqa: ARG001
        if frame.f_code.co_filename != filename:
            return None
        last = [-1]

        def local_trace(frame, event, arg):  # noqa: ARG001
            if event == "line":
                arcs.add((last[0], frame.f_lineno))
                last[0] = frame.f_lineno
            elif event == "return":
                arcs.add((last[0], -frame.f_code.co_firstlineno))
            return local_trace

        return local_trace

    return global_trace


def run_snippet(payload: dict) -> dict:
    """Run ``payload["code"]`` then its call; the result as data (see the module docstring)."""
    out = _BoundedText(int(payload.get("max_output_chars") or 100_000))
    result: dict = {"ok": False, "value": None, "exception": None, "stdout": "", "stdout_truncated": False,
                    "arcs": None}
    random.seed(payload.get("seed", 0))
    filename = payload.get("filename") or "<sample>"
    arcs: set = set()
    sys.stdout = sys.stderr = out
    sys.stdin = io.StringIO(payload.get("stdin") or "")
    try:
        namespace: dict = {"__name__": payload.get("module_name") or "__sandbox__", "__builtins__": __builtins__}
        exec(compile(payload["code"], filename, "exec"), namespace)
        if payload.get("coverage"):
            sys.settrace(arc_tracer(filename, arcs))
        try:
            if payload.get("args") is not None:
                function = eval(compile(payload["call"], "<call>", "eval"), namespace)
                args = [decode(tree) for tree in payload["args"]]
                kwargs = {k: decode(v) for k, v in (payload.get("kwargs") or {}).items()}
                value = function(*args, **kwargs)
            elif payload.get("call"):
                value = eval(compile(payload["call"], "<call>", "eval"), namespace)
            else:
                value = None
        finally:
            sys.settrace(None)
        result["value"] = encode(value)
        result["ok"] = True
    except BaseException as error:  # noqa: BLE001 - whatever the snippet raises is its result
        result["exception"] = exception_info(error)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    result["stdout"] = out.getvalue()
    result["stdout_truncated"] = out.truncated
    if payload.get("coverage"):
        result["arcs"] = sorted(arcs)
    return result


class _TooSlow(BaseException):
    """Raised in a call by its timers (a BaseException, so ``except Exception`` cannot swallow it)."""


#: a call's wall-clock limit is this many times its CPU limit, plus WALL_SLACK_S: far above what a
#: busy machine makes of a computing call, it stops one that waits (sleeps, blocks on a lock or a
#: pipe), which no CPU timer sees
WALL_FACTOR, WALL_SLACK_S = 4.0, 2.0


def wall_limit(cpu_limit: float) -> float:
    """The wall-clock seconds a call with a CPU limit of ``cpu_limit`` may take in ``run_calls``."""
    return WALL_FACTOR * float(cpu_limit) + WALL_SLACK_S


def _on_timer(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _TooSlow()


def run_calls(payload: dict) -> dict:
    """Run ``payload["code"]``, then call the function named by ``payload["call"]`` on each of
    ``payload["inputs"]`` (lists of value trees, the positional arguments), one after the other.

    ``limits_s`` (one number per input, or None) bounds each call's CPU time, user and system
    (``seconds``: the CPU time it took, so a busy machine does not make a call look slow), and
    its wall-clock time (``wall_limit``: a call that sleeps or waits uses no CPU); ``total_s``
    bounds the sum (and ``wall_limit(total_s)`` the calls' wall-clock time together); ``max_items`` sets the size an output may have before it turns opaque, or, with
    ``digest_large``, before its ``duck.sandbox.values.digest`` is sent instead (``{"digest"}``). Stops at the first call that raises or runs too long. Returns ``{"ok", "exception"
    (of the code itself), "results": [{"value", "seconds"} | {"exception", "seconds"} |
    {"too_slow": True, "seconds"}], "stdout", "stdout_truncated"}`` — outputs only, no verdict.
    """
    import gc
    import signal
    import time

    out = _BoundedText(int(payload.get("max_output_chars") or 100_000))
    result: dict = {"ok": False, "exception": None, "results": [], "stdout": "", "stdout_truncated": False}
    random.seed(payload.get("seed", 0))
    limits = payload.get("limits_s")
    budget = float(payload.get("total_s") or 0) or None
    wall_budget = wall_limit(budget) if budget is not None else None
    sys.stdout = sys.stderr = out
    sys.stdin = io.StringIO("")
    signal.signal(signal.SIGPROF, _on_timer)
    signal.signal(signal.SIGALRM, _on_timer)
    try:
        namespace: dict = {"__name__": payload.get("module_name") or "__sandbox__", "__builtins__": __builtins__}
        try:
            if budget is not None:  # the code's own top level is bounded by the whole budget
                signal.setitimer(signal.ITIMER_PROF, budget)
                signal.setitimer(signal.ITIMER_REAL, wall_budget)
            try:
                exec(compile(payload["code"], payload.get("filename") or "<sample>", "exec"), namespace)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.setitimer(signal.ITIMER_REAL, 0)
            function = eval(compile(payload["call"], "<call>", "eval"), namespace)
        except _TooSlow:
            result["exception"] = {"type": "TimeoutError", "message": "the code's top level ran too long"}
            return result
        except BaseException as error:  # noqa: BLE001 - the code's failure is its result
            result["exception"] = exception_info(error)
            return result
        result["ok"] = True
        for index, arguments in enumerate(payload.get("inputs") or ()):
            args = [decode(tree) for tree in arguments]
            limit = limits[index] if limits else None
            gc.freeze()  # the outputs kept so far are not walked by the call's collections
            entry: dict = {}
            seconds = None
            started, wall_started = time.process_time(), time.monotonic()
            try:
                if limit:
                    signal.setitimer(signal.ITIMER_PROF, float(limit) + 0.05)
                    signal.setitimer(signal.ITIMER_REAL, wall_limit(limit))
                try:
                    value = function(*args)
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    seconds = time.process_time() - started  # the call only, not the sending
                room = [int(payload.get("max_items") or MAX_ITEMS)]
                tree = encode(value, _budget=room)
                if room[0] < 0 and payload.get("digest_large"):
                    entry["digest"] = digest(value)  # too large to send: its digest stands for it
                else:
                    entry["value"] = tree
                del value, tree
            except _TooSlow:
                entry["too_slow"] = True
            except BaseException as error:  # noqa: BLE001 - what the call raises is its result
                entry["exception"] = exception_info(error)
            if seconds is None:
                seconds = time.process_time() - started
            entry["seconds"] = seconds
            if budget is not None:
                budget -= seconds
                wall_budget -= time.monotonic() - wall_started
            if (limit and seconds > float(limit)) or (budget is not None and min(budget, wall_budget) < 0):
                entry = {"too_slow": True, "seconds": seconds}
            result["results"].append(entry)
            if "value" not in entry and "digest" not in entry:
                break
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        result["stdout"] = out.getvalue()
        result["stdout_truncated"] = out.truncated
    return result
