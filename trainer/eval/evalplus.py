"""HumanEval+ and MBPP+: prompts, solution extraction and scoring by execution.

Scoring runs in ``corpus.sandbox`` in two steps, as EvalPlus does: the canonical solution is
run once per task to get the expected outputs and their times (``ground_truth``), then each
candidate is run on the base inputs and, when those pass, on the plus inputs
(``score_solutions``). The comparison itself lives in ``trainer.eval.evalplus_harness``, whose
source is what the sandbox executes. HumanEval / MBPP pass means every base input passes;
HumanEval+ / MBPP+ pass means base and plus inputs all pass.

This module does not generate (``trainer.eval.generation``) and does not print tables.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from models.prompts import nl_prompt
from trainer.eval.data import CodeTask

HARNESS_SOURCE = (Path(__file__).with_name("evalplus_harness.py")).read_text(encoding="utf-8")
#: seconds the sandbox gives the canonical solution for all inputs of one task
GROUND_TRUTH_TIMEOUT_S = 120.0
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
    """Scores solutions to HumanEval+ / MBPP+ tasks in a ``corpus.sandbox.SandboxPool``.

    Expected outputs are computed once per task and kept for later calls (self-refine scores
    the same tasks round after round).
    """

    def __init__(self, pool) -> None:
        self.pool = pool
        self._truth: dict[tuple[str, str], dict] = {}  # (task_id, "base"|"plus") -> ground truth

    def ground_truth(self, tasks: Iterable[CodeTask], parts: Sequence[str] = ("base", "plus")) -> None:
        """Run the canonical solutions of ``tasks`` (those not done yet) in the sandbox."""
        from corpus.sandbox import SandboxJob

        todo = [(t, part) for t in tasks for part in parts if (t.task_id, part) not in self._truth]
        jobs = [SandboxJob(HARNESS_SOURCE + _task_literal(t, _inputs(t, part)), call="ground_truth(__task__)",
                           timeout_s=GROUND_TRUTH_TIMEOUT_S, filename="<evalplus>") for t, part in todo]
        for (task, part), result in zip(todo, self.pool.map(jobs)):
            if not result.ok or result.value_repr is None:
                raise RuntimeError(f"the canonical solution of {task.task_id} failed on its {part} inputs: "
                                   f"{result.exception}")
            self._truth[(task.task_id, part)] = ast.literal_eval(result.value_repr)

    def score_solutions(self, pairs: Sequence[tuple[CodeTask, str]], *, plus: bool = True) -> list[SolutionScore]:
        """Score each ``(task, solution)``; solutions are complete programs (``extract_solution``)."""
        self.ground_truth({t.task_id: t for t, _ in pairs}.values(), ("base", "plus") if plus else ("base",))
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

        from trainer.eval import evalplus_harness as harness

        jobs = []
        for task, solution in pairs:
            truth = self._truth[(task.task_id, part)]
            limits = [max(harness.MIN_TIME_LIMIT_S, harness.GT_TIME_LIMIT_FACTOR * s) for s in truth["seconds"]]
            timeout = min(harness.TASK_TIME_CAP_S, sum(limits)) + 5.0
            code = (HARNESS_SOURCE + _task_literal(task, _inputs(task, part))
                    + f"__solution__ = {solution!r}\n__expected__ = {truth['expected']!r}\n"
                    + f"__seconds__ = {truth['seconds']!r}\n")
            jobs.append(SandboxJob(code, call="check_solution(__task__, __solution__, __expected__, __seconds__)",
                                   timeout_s=timeout, filename="<evalplus>"))
        results = []
        for result in self.pool.map(jobs):
            if result.ok and result.value_repr is not None:
                try:
                    results.append(ast.literal_eval(result.value_repr))
                    continue
                except (ValueError, SyntaxError):
                    pass
            exc = result.exception or {}
            reason = "timed out" if result.timed_out else f"{exc.get('type', 'Error')}: {exc.get('message', '')}"
            results.append({"passed": False, "reason": reason, "test": ""})
        return results


def _inputs(task: CodeTask, part: str) -> list:
    return task.base_input if part == "base" else task.plus_input
