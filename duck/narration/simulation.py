"""The "### Execution Simulation:" section of a SemCoder forward monologue, told from a traced call.

``execution_simulation`` is how the corpus writes training monologues (``corpus.monologue``):
the same teller as ``duck run --plain``, with lines labelled ``[L{line+4}]`` as in SemCoder's
prompts, so a model trained here reads runs the way duck tells them. ``refine_simulation`` is
its one setting for a buggy run in the debug-and-refine task (PyX-R rationales, ``duck fix
--model``, ``duck-train eval refine --trace``).
"""

from __future__ import annotations

from typing import Iterable

from duck.narration.teller import Stop, Teller, semcoder_style
from duck.narration.text import plural
from duck.session import Session
from duck.trace.format import header as trace_header


#: lines of a buggy run told for SemCoder's debug-and-refine task (``refine_simulation``)
REFINE_LINES = 40


def refine_simulation(events: Iterable[dict], source: str, call: str, *, filename: str | None = None) -> str:
    """A failing call told for SemCoder's debug-and-refine task: the one rendering of a buggy run
    that a PyX-R rationale (``corpus.refine``), the failed test ``duck fix --model`` shows a model
    (``duck.repair.model_edits``) and ``duck-train eval refine --trace`` all use, so a model reads
    at inference the run the way it was trained on it."""
    return execution_simulation(events, source, call=call, filename=filename, max_lines=REFINE_LINES)


def execution_simulation(events: Iterable[dict], source: str, *, call: str | None = None,
                         filename: str | None = None, max_lines: int = 120, label_offset: int = 4,
                         value: str | None = None, exception: tuple[str, str] | None = None) -> str:
    """The "### Execution Simulation:" section of a SemCoder forward monologue, from a traced call.

    ``events`` are the event dicts of a ``CallRecording`` (docs/trace-format.md); ``source``
    is the code they ran. Lines are labelled ``[L{line+label_offset}]`` as in SemCoder's
    prompts. When the events hold both the module's top level and the function call, only
    the call is told. ``value``/``exception`` (from the recording) give the closing sentence.
    """
    events = list(events)
    files = {e.get("file") for e in events}
    if filename is not None:
        files.add(filename)
    records = [trace_header()] + events + [{"source": f, "text": source} for f in files if f]
    records.append({"outcome": "finished", "steps": len(events)})
    session = Session.from_records(records)
    teller = Teller(session, semcoder_style(label_offset), max_items=max_lines)
    lines = ["### Execution Simulation:"]
    if call:
        lines.append(f"Let's simulate the execution of `{call}` step by step.")
    top = [f for f in _top_frames(session)]
    functions = [f for f in top if session.frame_func(f) != "<module>"]
    stopped = False
    try:
        for frame in functions or top:
            if session.frame_func(frame) == "<module>":
                teller.tell_body(frame, 1, len(session.frame_steps(frame)), 0, 0)
            else:
                teller.tell_call(frame, 0, 0)
    except Stop:
        stopped = True
    lines.append(teller.render())
    if stopped:
        lines.append(f"- ... (the remaining steps are not told; the trace has {plural(len(session), 'step')})")
    if exception is not None:
        lines.append(f"The call raises {exception[0]}" + (f": {exception[1]}." if exception[1] else "."))
    elif value is not None:
        lines.append(f"The function returns `{value}`.")
    return "\n".join(lines)


def _top_frames(session: Session) -> list[int]:
    frames = []
    step = 0
    while step < len(session):
        frame = session.frame(step)
        if session.frame_parent(frame) is None and session.frame_call_step(frame) == step:
            frames.append(frame)
            step = session.frame_end_step(frame) + 1
        else:
            step += 1
    return frames
