"""Candidates from a model: SemCoder's debug-and-refine prompt, verified like any other edit.

The prompt (``models.prompts.refine_prompt``) carries the problem, the buggy code and the
failed test; duck adds what the recording saw just before the failure, as comments in the
failed-test section, so the model reasons over the real run. ``refine_proposals`` yields the
``[Refined]`` code (``models.parse.refined_code``) as a ``Proposal``, which the search re-runs
in a private copy under the same oracle, like any edit (``Search.follow``). When it fails, the
next round (self-refine) shows the model its own code and the new failure. A proposal that
never verified is kept only as *unverified*, never as a fix.

This module talks to a backend; it does not load one (``models.registry``) and it does not
run anything (the search does).
"""

from __future__ import annotations

import ast
from typing import Generator

from duck.repair.oracle import Oracle
from duck.repair.proposals import Proposal
from duck.repair.verify import RunResult
from duck.session import Session

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
        failed = oracle.failure_text(session) + "\n# what the recorded run did last:\n" + trace_excerpt(session, program)
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
