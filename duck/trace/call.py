"""``record_call``: trace one call of a sample's function in this process (the corpus, the evaluator, tests).

It runs the sample's module code untraced, then evaluates the call under a ``Recorder`` that
records only the sample's file, captures what the call prints, and returns a ``CallRecording``.
It lives apart from ``recorder`` so that the recording child, which never calls it, does not
import ``dataclasses``; ``recorder`` still offers both names. Stdlib only.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field

from duck.trace.limits import Limits
from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - the sample's namespace gets the real builtins
from duck.trace.recorder import CapturedStream, Recorder, StepLimitReached, exception_summary
from duck.trace.saferepr import safe_repr


@dataclass
class CallRecording:
    """One traced call: its events (trace-format dicts), result (safe repr), exception and source.

    ``result`` is the returned object itself (for a caller in the same process that turns it
    into data, such as a sandbox job); it is not part of the trace.
    """

    events: list[dict]
    value: str | None
    exception: tuple[str, str] | None
    source: str
    stdout: str = ""
    stopped_by: str | None = None
    tracer: str = field(default="")
    result: object = field(default=None, repr=False, compare=False)


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
    events = recorder.all_events()
    return CallRecording(events, value, exception, code, out.getvalue(), recorder.stopped_by, recorder.tracer,
                         None if exception else result)
