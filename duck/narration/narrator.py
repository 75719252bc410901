"""What the narrator tells for each scope: a step, a call, a loop, the failure, the whole run.

``Narrator`` is the model-free ``Explainer`` (docs/architecture.md): ``explain(session,
step, scope)`` yields paragraphs for ``step`` (``describe_step``), ``call``, ``loop``,
``failure`` and ``run`` (``render_run``, also what ``duck run --plain`` prints). The walking is
``duck.narration.teller``'s and the outcome's wording ``duck.narration.outcome``'s; this module
chooses what to tell and in what order.
"""

from __future__ import annotations

from bisect import bisect_left
from pathlib import Path
from typing import Iterator

from duck.narration.outcome import describe_outcome
from duck.narration.teller import Stop, Teller, tell_frame, tell_loop_at
from duck.narration.text import clip, plural
from duck.session import Session

SCOPES = ("step", "call", "loop", "failure", "run")


def describe_step(session: Session, step: int) -> str:
    """What the step at ``step`` does, in a sentence or a few, from the recording."""
    teller = Teller(session, max_items=40, max_nesting=0)
    event = session.event(step)
    frame = event.frame
    program = event.func == "<module>" and session.frame_parent(frame) is None
    try:
        if event.kind == "line":
            frame_steps = session.frame_steps(frame)
            teller.tell_line(frame, frame_steps, bisect_left(frame_steps, step), 0, 0)
        elif event.kind == "call" and program:
            teller.emit(0, "the program starts", step)
        elif event.kind == "call":
            caller = _caller_line(session, step)
            code = teller.code(frame)
            first = step == session.frame_call_step(frame)
            if first and code.kind == "function" and not code.role:
                opening = f"{teller.title(frame)} is called with {_args(event.changes)}"
            else:
                opening = teller.opening(frame, step)
            result = teller.segment_result(frame, teller.segment_end(frame, step))
            if not first and code.kind == "coroutine":
                result = f"goes on from its `await` (it finally {result})"
            teller.emit(0, opening + (f" from {caller}" if caller else "") + f"; it {result}", step)
        elif event.kind == "return":
            frame_steps = session.frame_steps(frame)
            if program:
                teller.emit(0, "the program's top level ends", step)
            elif step != frame_steps[-1]:
                teller.emit(0, f"{teller.title(frame)} {teller.suspension_phrase(frame, step)}", step)
            else:
                teller.emit(0, f"{teller.title(frame)} {teller.segment_result(frame, len(frame_steps) - 1)}", step)
        else:
            teller.tell_exception(step, 0)
    except Stop:
        pass
    text = "\n".join(body for _, body in teller.items)
    position = session.loop_at(step)
    if position is not None:
        text += f"\n(iteration {position.iteration:,} of {position.total:,} of the loop at line {position.header_line})"
    if event.kind == "exception" and step == session.exception_step() and session.outcome.get("outcome") == "exception":
        text += f"\nThe run {describe_outcome(session)}."
    return text


def _args(changes: dict[str, str]) -> str:
    return ", ".join(f"{k} = {clip(v, 60)}" for k, v in changes.items()) or "no arguments"


def _caller_line(session: Session, step: int) -> str:
    parent = session.frame_parent(session.frame(step))
    if parent is None:
        return ""
    before = session.step_over(step, backward=True)
    if before is None or session.frame(before) != parent:
        return ""
    return f"line {session.line(before)}"


def render_run(session: Session, *, max_lines: int = 400, max_output_lines: int = 40,
               unexpected: str | None = None) -> str:
    """The whole run for ``duck run --plain``: the outcome first, then the narrated steps, output and
    outcome. ``unexpected``: a failed oracle's reason (``duck.narration.outcome``), told with the outcome."""
    script = session.header.get("script") or (session.files[0] if session.files else "the program")
    outcome = describe_outcome(session, unexpected)
    code = session.outcome.get("exit_code")
    if session.outcome.get("outcome") == "failed_to_start":
        hint = session.outcome.get("hint") or "fix the problem named above, then run duck again"
        return f"error: {Path(script).name} {outcome}\nhint: {hint}"
    lines = [f"duck: {Path(script).name} {outcome}."]
    lines.append(f"{plural(len(session), 'step')} recorded" + (f"; exit status {code}." if code is not None else "."))
    if len(session):
        teller = Teller(session, max_items=max_lines)
        stopped = None
        try:
            teller.tell_top_level()
        except Stop as stop:
            stopped = stop.step
        lines += ["", "### Execution Simulation:", teller.render()]
        if stopped is not None:
            left = len(session) - stopped
            lines.append(f"... the narration stops here after {max_lines} lines: steps {stopped:,} to "
                         f"{len(session) - 1:,} ({plural(left, 'step')}) are not told; step through them in "
                         f"the TUI (`duck run` in a terminal)")
    output = session.stdout
    if output:
        shown = output.splitlines()
        lines += ["", "### Output:"]
        lines += [clip(text, 200) for text in shown[:max_output_lines]]
        if len(shown) > max_output_lines:
            lines.append(f"... {plural(len(shown) - max_output_lines, 'more line')} of output")
    errors = session.stderr_until(session.last()) if len(session) else ""
    if session.outcome.get("outcome") == "exception" and "Traceback (most recent call last):" in errors:
        # the outcome below explains the exception; the interpreter's own report of it is left out
        errors = errors[: errors.rindex("Traceback (most recent call last):")]
    if errors.strip():
        lines += ["", "### Error output:"] + [clip(t, 200) for t in errors.splitlines()[:max_output_lines]]
    lines += ["", "### Outcome:", f"The program {outcome}."]
    return "\n".join(lines)


class Narrator:
    """The model-free ``Explainer``: explains a step, a call, a loop, the failure or the whole run."""

    name = "narrator"

    def explain(self, session: Session, step: int, scope: str = "step") -> Iterator[str]:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; expected one of {', '.join(SCOPES)}")
        if not len(session):
            yield f"Nothing was recorded: the program {describe_outcome(session)}."
            return
        step = session.clamp(step)
        if scope == "step":
            yield describe_step(session, step)
        elif scope == "call":
            yield tell_frame(session, session.frame(step))
        elif scope == "loop":
            told = tell_loop_at(session, step)
            yield told or f"Step {step:,} (line {session.line(step)}) is not inside a loop."
        elif scope == "failure":
            yield f"The program {describe_outcome(session)}."
            failing = session.exception_step()
            if failing is not None:
                yield "\n\nHow the failing call got there:\n"
                yield tell_frame(session, session.frame(failing), max_lines=80)
        else:
            yield render_run(session)
