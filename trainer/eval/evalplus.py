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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from duck.errors import DuckError
from models.prompts import CODE_FENCE, code_continuation, humaneval_prompt, mbpp_prompt
from trainer.eval.data import CodeTask

HARNESS_SOURCE = (Path(__file__).with_name("evalplus_harness.py")).read_text(encoding="utf-8")
#: seconds one sandbox job may take: the canonical solution on every input of a part plus the
#: candidate, which the harness itself stops after 60 s (EvalPlus's per-task cap)
JOB_TIMEOUT_S = 180.0
#: generation stops at the fence that closes the pre-filled ```` ```python ```` block
CODE_STOP = CODE_FENCE


def code_prompt(task: CodeTask) -> str:
    """The released NL->code prompt for a HumanEval(+) or MBPP(+) task (``models.prompts``)."""
    return humaneval_prompt(task.prompt) if task.dataset == "humaneval" else mbpp_prompt(task.prompt)


def solution_from_completion(task: CodeTask, completion: str) -> str:
    """The program the released harness tests: the task's prompt followed by the completion of
    ``code_prompt`` cut at its first fence (HumanEval: the body continuing the signature)."""
    return task.prompt + code_continuation(completion)


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
        """Score each ``(task, solution)``; solutions are complete programs (``solution_from_completion``).

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
