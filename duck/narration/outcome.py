"""How a run ended, in words: the one place that words a trace's outcome record.

Three lengths of the same meaning, for the three places that show it:

- ``describe_outcome(session)``: one or two sentences with a reason read off the recorded
  values ("raised IndexError: list index out of range at line 15 in average (`...`) because
  i == len(values) == 4"); the narrator, ``duck run --plain`` and the monologue's header.
- ``brief_outcome(outcome)``: one line from the outcome record alone ("ZeroDivisionError:
  division by zero at prog.py:5"); the status bar, the TUI's notes and ``duck record``'s summary.
- ``outcome_tone(outcome)``: whether the run went well (``success``), ended early
  (``warning``) or failed (``error``); the UI turns the tone into a theme colour.

The last two are worded in ``duck.outcome_words`` (light, so ``duck record`` prints its
summary without importing the narrator) and re-exported here.

Each takes ``unexpected``: when an oracle (``--expect``, ``--test``) judged a run that ran to
its end (finished or exited) and it failed, its reason ("the output differs from the expected
one: line 1 is '7', expected '6'"); the run is then told as not doing what was expected, in
the error tone. A run that raised or was stopped is told by how it ended, whatever the oracle.

It reads the outcome record (docs/trace-format.md) and the session; it runs nothing.
"""

from __future__ import annotations

from pathlib import Path

from duck.narration.code import source_index
from duck.narration.failure import failure_reason
from duck.narration.teller import code_title, frame_code
from duck.narration.text import clip, plural
from duck.outcome_words import OUTCOME_TONES, brief_outcome, outcome_tone, told_unexpected  # noqa: F401 - the short lengths, worded there
from duck.session import Session
from duck.trace.format import NO_OUTCOME

#: How a limit that stopped a run is named to the user, and the flag that raises it.
LIMIT_FLAGS = {
    "max_steps": ("the step limit", "--max-steps"),
    "timeout": ("the time limit", "--timeout"),
    "memory": ("the memory limit", "--max-memory"),
    "output": ("the output limit", "--max-output"),
    "interrupted": ("an interruption (Ctrl-C)", None),
}

def describe_outcome(session: Session, unexpected: str | None = None) -> str:
    """One or two sentences on how the run ended, with a reason read off the recorded values."""
    outcome = session.outcome or {}
    if told_unexpected(outcome, unexpected):
        ended = (f"finished (exit status 0) after {plural(len(session), 'step')}" if outcome.get("outcome") == "finished"
                 else describe_outcome(session))  # "normally" would read as "as expected"
        return f"{ended} but did not do what was expected: {unexpected}"
    kind = outcome.get("outcome")
    steps = plural(len(session), "step")
    if kind == "finished":
        return f"finished normally (exit status 0) after {steps}"
    if kind == "failed_to_start":
        return _describe_failed_start(outcome)
    if kind == "exception":
        return _describe_exception(session, outcome)
    last = session.last() if len(session) else None
    where = _where(session, last) if last is not None else ""
    if kind == "exited":
        code = outcome.get("exit_code")
        exit_step = session.exception_step()
        if exit_step is not None and session.event(exit_step).exc_type == "SystemExit":
            where = _where(session, exit_step)
        text = f"exited with status {code}"
        if outcome.get("message"):
            text += f" ({outcome['message']})"
        return text + (f" {where}" if where else "") + f" after {steps}"
    if kind == "limit":
        limit = outcome.get("limit") or "interrupted"
        name, flag = LIMIT_FLAGS.get(limit, (f"the {limit} limit", None))
        text = f"was stopped by {name} after {steps}"
        if outcome.get("message") == NO_OUTCOME:  # not a Ctrl-C: nobody knows what stopped it
            return (f"was recorded for {steps}" + (f", up to {where}" if where else "") +
                    "; then the trace ends without saying how the run ended (the recorder was killed, "
                    "or the trace file was cut short)")
        if where:
            text += f", {where}"
        if last is not None:
            position = session.loop_at(last)
            if position is not None:
                text += (f", in iteration {position.iteration:,} of the loop at line {position.header_line}")
        if flag:
            text += f" (raise it with {flag})"
        return text
    return f"ended with an unknown outcome {kind!r} after {steps}"


def _where(session: Session, step: int) -> str:
    index = source_index(session.source(session.file(step)))
    line = session.line(step)
    text = index.text(line)
    frame = session.frame(step)
    program = session.frame_func(frame) == "<module>" and session.frame_parent(frame) is None
    place = f"at line {line}" + ("" if program else f" in {code_title(frame_code(session, frame))}")
    return place + (f" (`{text}`)" if text else "")


def _describe_exception(session: Session, outcome: dict) -> str:
    """The exception, where it was raised and why; the place is ``Session.exception_step``'s (where ``e`` goes)."""
    info = outcome.get("exception") or {}
    exc_type = info.get("type") or "an exception"
    message = info.get("message") or ""
    frames = info.get("traceback") or []
    inner = frames[-1] if frames else {}
    head = f"raised {exc_type}" + (f": {clip(message)}" if message else "")
    step = session.exception_step()
    if step is None:
        line, file = inner.get("line"), inner.get("file")
        if line is not None:
            return f"{head} at line {line} of {Path(file).name if file else '?'}"
        return head
    file, line = session.file(step), session.line(step)
    text = f"{head} {_where(session, step)}"
    index = source_index(session.source(file))
    reason = failure_reason(session, step, index, line, exc_type, message)
    text += f" because {reason}" if reason else ""
    if inner and (inner.get("file"), inner.get("line")) != (file, line) and inner.get("line") is not None:
        shown = f" (`{inner['text'].strip()}`)" if inner.get("text") else ""
        where = f"line {inner['line']}" + ("" if inner.get("file") == file else
                                            f" of {Path(str(inner.get('file'))).name}")
        text += (f"; Python's traceback ends at {where}{shown}, where the recording holds no raise "
                 f"(the recorder missed the innermost frames)")
    return text


def _describe_failed_start(outcome: dict) -> str:
    info = outcome.get("exception") or {}
    frames = info.get("traceback") or []
    message = info.get("message") or outcome.get("message") or "no reason was recorded"
    text = f"could not start: {info['type']}: {message}" if info.get("type") else f"could not start: {message}"
    if frames:
        frame = frames[-1]
        place = f"{frame.get('file', '?')}:{frame.get('line', '?')}"
        column = frame.get("column", frame.get("col", frame.get("offset")))
        if column is not None:
            place += f":{column}"
        text += f" at {place}"
        if frame.get("text"):
            text += f" (`{frame['text'].strip()}`)"
    return text
