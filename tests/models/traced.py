"""Test helper: trace-format records of a small program, for building a ``Session`` in tests of
windows, grounding and explanations.

Uses the project's recorder (``duck.trace.runner.record``) when it exists; until then a
minimal ``sys.settrace`` tracer in this file writes the same event shape for a program run
in-process (test-only code, not a product recorder).
"""

from __future__ import annotations

import sys
from pathlib import Path


def _records_settrace(script: Path) -> list[dict]:
    source = script.read_text()
    filename = str(script)
    records: list[dict] = [{"format": "duck-trace", "version": 1, "python": sys.version.split()[0], "argv": [filename]}]
    frames: dict[int, dict] = {}
    counter = {"frame": 0}
    stack: list[int] = []

    def changes_for(frame, info) -> dict:
        now = {k: repr(v) for k, v in frame.f_locals.items() if not k.startswith("__") and not callable(v)}
        changed = {k: v for k, v in now.items() if info["locals"].get(k) != v}
        info["locals"] = now
        return changed

    def emit(kind, frame, **extra):
        info = frames[id(frame)]
        event = {"step": len(records) - 1, "event": kind, "file": filename, "line": frame.f_lineno,
                 "func": frame.f_code.co_qualname, "depth": info["depth"], "frame": info["id"], "parent": info["parent"]}
        changed = changes_for(frame, info)
        if changed:
            event["changes"] = changed
        event.update(extra)
        records.append(event)

    def tracer(frame, kind, arg):
        if frame.f_code.co_filename != filename:
            return None
        if kind == "call":
            counter["frame"] += 1
            frames[id(frame)] = {"id": counter["frame"], "depth": len(stack), "parent": stack[-1] if stack else None, "locals": {}}
            stack.append(counter["frame"])
            emit("call", frame)
        elif kind == "line":
            emit("line", frame)
        elif kind == "return":
            emit("return", frame, value=repr(arg))
            stack.pop()
        elif kind == "exception":
            emit("exception", frame, exc_type=arg[0].__name__, exc_msg=str(arg[1]))
        return tracer

    code = compile(source, filename, "exec")
    outcome = {"outcome": "finished", "exit_code": 0}
    sys.settrace(tracer)
    try:
        exec(code, {"__name__": "__main__", "__file__": filename})
    except Exception as error:  # the program's own failure is part of the recording
        outcome = {"outcome": "exception", "exit_code": 1, "exception": {"type": type(error).__name__, "message": str(error)}}
    finally:
        sys.settrace(None)
    records.append({"source": filename, "text": source})
    outcome["steps"] = len(records) - 2
    records.append(outcome)
    return records


def session_of(tmp_path: Path, source: str, name: str = "prog.py"):
    """Record ``source`` as a program and load it as a ``duck.session.Session``."""
    from duck.session import Session

    script = tmp_path / name
    script.write_text(source)
    try:
        from duck.trace.runner import RecordRequest, record
    except ImportError:
        return Session.from_records(_records_settrace(script))
    trace = tmp_path / (name + ".trace")
    record(RecordRequest(script=script, argv=[], stdin=None), trace)
    return Session.load(trace)
