"""Candidates from a model: SemCoder's debug-and-refine prompt, verified like any other edit.

The prompt (``models.prompts.refine_prompt``) carries the problem, the buggy code and the
failed test; duck adds what the recording saw just before the failure, as comments in the
failed-test section, so the model reasons over the real run. The ``[Refined]`` code
(``models.parse.refined_code``) is re-run in a private copy under the same oracle. When it
fails, the next round (self-refine) shows the model its own code and the new failure. A
proposal that never verified is kept only as *unverified*, never as a fix.

This module talks to a backend; it does not load one (``models.registry`` does).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from duck.repair.edits import compiles
from duck.repair.oracle import Oracle, Verdict
from duck.repair.verify import RunResult
from duck.session import Session

if TYPE_CHECKING:  # pragma: no cover
    from duck.repair.search import _Search

MAX_NEW_TOKENS = 1536
TRACE_STEPS = 12


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


def trace_excerpt(session: Session, file_suffix: str, steps: int = TRACE_STEPS) -> str:
    """The last recorded lines of the program before the run ended, with the values they changed."""
    lines = []
    for step in range(len(session) - 1, -1, -1):
        event = session.event(step)
        if not event.file.endswith(file_suffix):
            continue
        changes = ", ".join(f"{k}={v}" for k, v in event.changes.items())
        label = {"exception": f"raised {event.exc_type}: {event.exc_msg}", "return": f"returned {event.value}"}.get(event.kind, "")
        lines.append(f"# step {step}: line {event.line} in {event.func}" + (f" ({changes})" if changes else "")
                     + (f" {label}" if label else ""))
        if len(lines) >= steps:
            break
    return "\n".join(reversed(lines))


def model_candidates(search: "_Search", oracle: Oracle) -> None:
    """Ask the model for refined code, verify it, and self-refine on failure for a few rounds."""
    from models.parse import refined_code
    from models.prompts import refine_prompt

    request = search.request
    problem = problem_text(search.original, request.problem, oracle)
    code = search.original
    session = search.baseline.session
    suffix = str(search.workspace.script)
    for round_number in range(1, request.model_rounds + 1):
        if search.stopped():
            return
        failed = oracle.failure_text(session) + "\n# what the recorded run did last:\n" + trace_excerpt(session, suffix)
        prompt = refine_prompt(problem, code, failed)
        answer = "".join(request.backend.stream(prompt, max_new_tokens=MAX_NEW_TOKENS, stop=["[/Refined]"],
                                                temperature=0.0))
        proposal = refined_code(answer)
        if not proposal or proposal.strip() == code.strip():
            return
        if not proposal.endswith("\n"):
            proposal += "\n"
        description = f"SemCoder's refined code (round {round_number})"
        if (None, proposal) in search.seen_sources:
            return
        search.seen_sources.add((None, proposal))
        if not compiles(proposal):
            result = RunResult(proposal, session, search.baseline.copy_root, Verdict(False, "the proposal does not compile", oracle.name))
            search.unverified.append(search.make_fix(proposal, result, "model", description, verified=False))
            return
        result = search.runner.verify(proposal, search.limits, screen=False)  # recorded: a failure feeds the next round
        search.tried += 1
        if result.verdict.passed:
            search.add_fix(proposal, result, "model", description)
            return
        search.unverified.append(search.make_fix(proposal, result, "model", description, verified=False))
        code, session = proposal, result.session
