"""HumanEval+ and MBPP+: prompts, solution extraction and scoring by execution.

Scoring runs in ``corpus.sandbox``: each candidate is run on the base inputs and, when those
pass, on the plus inputs, beside the canonical solution, which gives each input's expected
output and time limit (``score_solutions``). The comparison itself lives in
``trainer.eval.evalplus_harness``, whose source is what the sandbox executes. HumanEval / MBPP pass means every base input passes;
HumanEval+ / MBPP+ pass means base and plus inputs all pass.

This module does not generate (``trainer.eval.generation``) and does not print tables.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from duck.errors import DuckError
from models.prompts import nl_prompt
from trainer.eval.data import CodeTask

HARNESS_SOURCE = (Path(__file__).with_name("evalplus_harness.py")).read_text(encoding="utf-8")
#: seconds one sandbox job may take: the canonical solution on every input of a part plus the
#: candidate, which the harness itself stops after 60 s (EvalPlus's per-task cap)
JOB_TIMEOUT_S = 180.0
#: the response is opened with a fence so the model writes code, and stops at the closing one
RESPONSE_PREFIX = "```python\n"
CODE_STOP = "\n```"


def instruction(task: CodeTask) -> str:
    """The NL->code ``{instruction}``: the problem (signature + docstring, or MBPP's text)."""
    return f"Write a solution to the following problem:\n```python\n{task.prompt.strip()}\n```"


def code_prompt(task: CodeTask) -> str:
    """SemCoder's NL->code prompt for the task, with the response opened by a code fence."""
    return nl_prompt(instruction(task)) + RESPONSE_PREFIX


def extract_solution(task: CodeTask, completion: str) -> str:
    """The program to test from a model's completion of ``code_prompt`` (or any text with code).

    Takes the first fenced block when there is one, else the text up to a closing fence. A
    completion that does not define the entry point is treated as the body that continues
    the prompt (EvalPlus's ``completion`` field); the prompt's imports are kept either way.
    """
    fenced = re.search(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|$)", completion, re.DOTALL)
    if fenced and completion.lstrip().startswith("```"):
        code = fenced.group(1)
    else:
        code = completion.split("```", 1)[0]
    code = code.rstrip() + "\n"
    if re.search(rf"^\s*def\s+{re.escape(task.entry_point)}\s*\(", code, re.MULTILINE) is None:
        return task.prompt + code
    imports = "".join(line + "\n" for line in task.prompt.splitlines() if line.startswith(("import ", "from ")))
    return imports + code


@dataclass
class SolutionScore:
    """How one solution did: ``base`` (HumanEval / MBPP) and ``plus`` (the + variants)."""

    task_id: str
    base: bool
    plus: bool
    reason: str = ""  # why it failed ("" when it passed)
    failed_test: str = ""  # the first failing input as an assertion, for self-refine


def _task_literal(task: CodeTask, inputs: list) -> str:
    payload = {"dataset": task.dataset, "task_id": task.task_id, "entry_point": task.entry_point,
               "reference": task.reference, "atol": task.atol, "inputs": inputs}
    return f"import json as _json\n__task__ = _json.loads({json.dumps(payload)!r})\n"


class EvalPlusScorer:
    """Scores solutions to HumanEval+ / MBPP+ tasks in a ``corpus.sandbox.SandboxPool``."""

    def __init__(self, pool) -> None:
        self.pool = pool

    def score_solutions(self, pairs: Sequence[tuple[CodeTask, str]], *, plus: bool = True) -> list[SolutionScore]:
        """Score each ``(task, solution)``; solutions are complete programs (``extract_solution``).

        Plus inputs are run only for solutions that passed the base ones (plus implies base).
        """
        base = self._run_part(pairs, "base")
        scores = [SolutionScore(t.task_id, r["passed"], False, r["reason"], r["test"]) for (t, _), r in zip(pairs, base)]
        if plus:
            again = [i for i, s in enumerate(scores) if s.base]
            for i, r in zip(again, self._run_part([pairs[i] for i in again], "plus")):
                scores[i].plus = r["passed"]
                scores[i].reason, scores[i].failed_test = r["reason"], r["test"]
        return scores

    def _run_part(self, pairs: Sequence[tuple[CodeTask, str]], part: str) -> list[dict]:
        from corpus.sandbox import SandboxJob

        jobs = [SandboxJob(HARNESS_SOURCE + _task_literal(task, _inputs(task, part)) + f"__solution__ = {solution!r}\n",
                           call="check_solution(__task__, __solution__)", timeout_s=JOB_TIMEOUT_S,
                           filename="<evalplus>") for task, solution in pairs]
        results = []
        for (task, _), result in zip(pairs, self.pool.map(jobs)):
            if result.ok and result.value_repr is not None:
                results.append(ast.literal_eval(result.value_repr))
                continue
            exc = result.exception or {}
            if exc.get("type") == "ReferenceFailed":
                raise DuckError(f"the canonical solution of {task.task_id} failed: {exc.get('message')}",
                                "check that --data is an unmodified EvalPlus release")
            reason = "timed out" if result.timed_out else f"{exc.get('type', 'Error')}: {exc.get('message', '')}"
            results.append({"passed": False, "reason": reason, "test": ""})
        return results


def _inputs(task: CodeTask, part: str) -> list:
    return task.base_input if part == "base" else task.plus_input
