"""Candidates from a model: SemCoder's debug-and-refine prompt, verified like any other edit.

The prompt (``models.prompts.refine_prompt``) carries the problem, the buggy code and the
failed test; duck adds the failing call of the recorded run, told as an execution simulation
exactly as a PyX-R rationale tells a buggy run (``duck.narration.refine_simulation``), as
comments in the failed-test section, so the model reasons over the real run the way it was
trained to read one. ``refine_proposals`` yields the
``[Refined]`` code (``models.parse.refined_code``) as a ``Proposal``, which the search re-runs
in a private copy under the same oracle, like any edit (``Search.follow``). When it fails, the
next round (self-refine) shows the model its own code and the new failure. A proposal that
never verified is kept only as *unverified*, never as a fix.

This module talks to a backend; it does not load one (``models.registry``) and it does not
run anything (the search does).
"""

from __future__ import annotations

import ast
import os
from typing import Generator

from duck.repair.oracle import Oracle
from duck.repair.proposals import Proposal
from duck.repair.verify import RunResult
from duck.session import Session

MAX_NEW_TOKENS = 1536
#: the file name the told call's events carry (as in a recording of a call alone)
SAMPLE = "<sample>"


def problem_text(source: str, given: str | None, oracle: Oracle) -> str:
    """What the program should do: the user's words, else its docstring, else the oracle's demand."""
    if given:
        return given
    try:
        docstring = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        docstring = None
    demand = {"test": "make the failing test pass", "expect": "print the expected output",
              "asserts": "make every assert hold", "exit": "run to the end without an exception"}.get(oracle.name, "")
    return (docstring + "\n\n" if docstring else "") + f"The program should {demand}."


def _in_program(file: str, program: str) -> bool:
    return file == program or file.endswith(os.sep + program)


def failing_call(session: Session, failing: int | None, program: str) -> int | None:
    """The call step of the program's call that the failure shows in: the outermost call of a
    function of ``program`` below the code that drives it (module level or a test function)
    around the failing step, else the last such call made before it (``assert f(x) == y``
    fails after ``f`` returned). None when there is none."""
    if failing is None or not len(session):
        return None

    def driver(frame: int | None) -> bool:
        return frame is None or session.frame_func(frame) == "<module>" or session.frame_func(frame).startswith("test")

    chain = session.frame_chain(failing)
    for frame in reversed(chain):  # outermost first
        if _in_program(session.frame_file(frame), program) and not driver(frame) \
                and driver(session.frame_parent(frame)):
            return session.frame_call_step(frame)
    here = session.frame(failing)
    last = None
    for step in range(failing - 1, -1, -1):
        if session.kind(step) == "call" and session.frame_parent(session.frame(step)) == here \
                and _in_program(session.file(step), program):
            last = step
            break
    return last


def call_events(session: Session, call_step: int, program: str) -> list[dict]:
    """The steps of one recorded call, in ``program``'s file only, as the event dicts of a
    recording of that call alone (``duck.trace.recorder.record_call``: steps, depths and frames
    counted from the call)."""
    top = session.frame(call_step)
    end = session.frame_end_step(top)
    base = session.depth(call_step)
    frames: dict[int, int] = {}
    events = []
    for step in range(call_step, end + 1):
        event = session.event(step)
        if not _in_program(event.file, program):
            continue
        frame = frames.setdefault(event.frame, len(frames))
        parent = None
        for outer in session.frame_chain(step)[1:]:  # the nearest enclosing frame that is told
            if outer in frames:
                parent = frames[outer]
                break
        record = {"step": len(events), "event": event.kind, "line": event.line, "file": SAMPLE, "func": event.func,
                  "depth": event.depth - base, "frame": frame, "parent": None if event.frame == top else parent}
        if event.changes:
            record["changes"] = dict(event.changes)
        if event.kind == "return" and event.value is not None:
            record["value"] = event.value
        if event.kind == "exception":
            record["exc_type"], record["exc_msg"] = event.exc_type, event.exc_msg
        if event.stdout:
            record["stdout"] = event.stdout
        events.append(record)
    return events


def call_text(session: Session, call_step: int, source: str) -> str:
    """The call as the calling line wrote it (``f([1, 2])``), else built from its arguments' reprs."""
    event = session.event(call_step)
    parent = session.frame_parent(session.frame(call_step))
    if parent is not None:
        line = session.frame_line(parent, call_step)
        file = session.frame_file(parent)
        text = (session.source(file) or (source if file == event.file else "")).splitlines()
        written = text[line - 1].strip() if 0 < line <= len(text) else ""
        for candidate in (written, written.rstrip(":")):
            try:
                tree = ast.parse(candidate)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and (getattr(node.func, "id", None) == event.func
                                                   or getattr(node.func, "attr", None) == event.func):
                    return ast.get_source_segment(candidate, node) or ast.unparse(node)
    return f"{event.func}({', '.join(event.changes.values())})"


def told_failure(session: Session, oracle: Oracle, program: str, source: str) -> str:
    """The failed-test section of the refine prompt: the oracle's failure, then the failing call
    told as a PyX-R rationale tells it (``duck.narration.refine_simulation``)."""
    from duck.narration import refine_simulation
    from models.prompts import with_simulation

    failed = oracle.failure_text(session).rstrip("\n") + "\n"
    step = failing_call(session, oracle.failing_step(session), program)
    if step is None:
        return failed
    return with_simulation(failed, refine_simulation(call_events(session, step, program), source,
                                                     call_text(session, step, source)))


def refine_proposals(backend, oracle: Oracle, original: str, baseline: Session, program: str,
                     problem: str | None, rounds: int) -> Generator[Proposal, RunResult, None]:
    """SemCoder's refined code as proposals, one per round (``Search.follow`` checks each and
    sends back its recorded run); a failed round shows the model its own code and the new
    failure (self-refine). Ends when the model repeats itself or gives no code."""
    from models.parse import refined_code
    from models.prompts import refine_prompt

    problem = problem_text(original, problem, oracle)
    code, session = original, baseline
    for round_number in range(1, rounds + 1):
        failed = told_failure(session, oracle, program, code)
        answer = "".join(backend.stream(refine_prompt(problem, code, failed), max_new_tokens=MAX_NEW_TOKENS,
                                        stop=["[/Refined]"], temperature=0.0))
        proposal = refined_code(answer)
        if not proposal or proposal.strip() == code.strip():
            return
        if not proposal.endswith("\n"):
            proposal += "\n"
        result = yield Proposal(proposal, f"SemCoder's refined code (round {round_number})", "model",
                                keep_unverified=True)
        if result.verdict.passed or result.session is None or result.session is baseline:
            return  # verified, tried already, or not even compiled: nothing to refine further
        code, session = proposal, result.session
