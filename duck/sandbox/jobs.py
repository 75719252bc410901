"""Job functions that run inside a confined sandbox child: they run a snippet and return data.

``run_snippet(payload)`` executes ``code``, then evaluates ``call`` (an expression) and returns
its value as a type-tagged tree (``duck.sandbox.values``), what the snippet printed, and how
it ended; with ``coverage`` the (line, next line) arcs that the call ran. ``payload["args"]``
(a list of value trees) may stand for the call's arguments: the function named by ``call`` is
then called on the decoded values, so an input chosen by someone else never runs as code.

These functions are called by the fork server in a child that is already confined and that
exits afterwards; they hold no verdict (no expected value ever reaches them) and they are not
meant to be called in duck's own process.
"""

from __future__ import annotations

import io
import random
import sys

from duck.sandbox.values import decode, encode


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
