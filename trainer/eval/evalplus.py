"""HumanEval+ and MBPP+: prompts, solution extraction and scoring by execution.

Scoring runs code in ``duck.sandbox`` and judges here (``score_solutions``): the canonical
solution runs once per task and part, confined, on every input, and gives each input's expected
output (as a value tree) and time limit (max(1 s, 4 x its time), EvalPlus's rule); each
candidate then runs confined on the base inputs and, when those pass, on the plus inputs
(``duck.sandbox.jobs:run_calls``), and only its outputs come back. They are compared in this
process with EvalPlus's rules (``trainer.eval.evalplus_harness.check_output``); no expected
value ever enters the candidate's process. HumanEval / MBPP pass means every base input
passes; HumanEval+ / MBPP+ pass means base and plus inputs all pass.

This module does not generate (``trainer.eval.generation``) and does not print tables.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from duck.errors import DuckError
from duck.sandbox.values import decode, encode, is_literal
from models.prompts import CODE_FENCE, code_continuation, humaneval_prompt, mbpp_prompt
from trainer.eval.data import CodeTask
from trainer.eval.evalplus_harness import (GT_TIME_LIMIT_FACTOR, MBPP_OUTPUT_NOT_NONE_TASKS, MIN_TIME_LIMIT_S,
                                           TASK_TIME_CAP_S, check_output, decode_inputs)

#: the job function that runs a solution on a part's inputs in the sandbox
CALLS_JOB = "duck.sandbox.jobs:run_calls"
#: wall seconds a job may take, a backstop only: run_calls stops a candidate's calls by their CPU
#: time (4 x the canonical time per input, EvalPlus's 60 s per task), and sending a
#: million-item output (or the canonical run, which EvalPlus does not cap) may take minutes
JOB_TIMEOUT_S = 900.0
#: items an output may hold and still travel as a value tree; a larger one (some canonical
#: outputs have a million items) travels as its digest and must then match exactly
MAX_OUTPUT_ITEMS = 100_000
#: generation stops at the fence that closes the pre-filled ```` ```python ```` block
CODE_STOP = CODE_FENCE


def code_prompt(task: CodeTask) -> str:
    """The released NL->code prompt for a HumanEval(+) or MBPP(+) task (``models.prompts``)."""
    return humaneval_prompt(task.prompt) if task.dataset == "humaneval" else mbpp_prompt(task.prompt)


def program_from_completion(task: CodeTask, completion: str) -> str:
    """The program the model wrote: the task's prompt followed by the completion of
    ``code_prompt`` cut at its first fence (HumanEval: the body continuing the signature).
    Self-refine shows the model this text as its buggy solution."""
    return task.prompt + code_continuation(completion)


def tested_solution(task: CodeTask, program: str) -> str:
    """What the released evaluation tests of ``program``: it sanitized as ``evalplus.sanitize``
    does (``trainer.eval.sanitize``: only the imports and what the entry point needs are kept)."""
    from trainer.eval.sanitize import sanitize

    return sanitize(program, task.entry_point)


def solution_from_completion(task: CodeTask, completion: str) -> str:
    """The program the released evaluation tests for a completion (``program_from_completion``, sanitized)."""
    return tested_solution(task, program_from_completion(task, completion))


@dataclass
class SolutionScore:
    """How one solution did: ``base`` (HumanEval / MBPP) and ``plus`` (the + variants)."""

    task_id: str
    base: bool
    plus: bool
    reason: str = ""  # why it failed ("" when it passed)
    failed_test: str = ""  # the first failing input as an assertion, for self-refine


class ReferenceFailed(DuckError):
    """The canonical solution itself failed: a broken benchmark file, not a wrong candidate."""


@dataclass
class _Truth:
    """A task part's decoded inputs, the canonical outputs (value trees) and candidate time limits."""

    inputs: list
    outputs: list
    limits: list[float]


class EvalPlusScorer:
    """Scores solutions to HumanEval+ / MBPP+ tasks; runs code in a ``duck.sandbox.Sandbox``."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self._truth: dict[tuple[str, str], _Truth] = {}

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

    def truth(self, tasks: Sequence[CodeTask], part: str) -> list[_Truth]:
        """The canonical outputs of each task's part, computed once (confined) and kept."""
        todo = list({t.task_id: t for t in tasks if (t.task_id, part) not in self._truth}.values())
        payloads = []
        for task in todo:
            inputs = decode_inputs(task.dataset, task.task_id, _inputs(task, part))
            payloads.append((inputs, _payload(task.reference, task, inputs, None)))
        for task, (inputs, payload), run in zip(todo, payloads, self.sandbox.imap(
                (CALLS_JOB, p, JOB_TIMEOUT_S) for _, p in payloads)):
            data = run.result if isinstance(run.result, dict) else {}
            results = data.get("results") or []
            failed = next((r for r in results if "value" not in r and "digest" not in r), None)
            if not data.get("ok") or failed is not None or len(results) != len(inputs):
                why = (data.get("exception") or (failed or {}).get("exception") or {}).get("message") \
                    or run.error or run.stopped_by or "it did not finish"
                raise ReferenceFailed(f"the canonical solution of {task.task_id} failed ({part} inputs): {why}",
                                      "check that --data is an unmodified EvalPlus release")
            outputs = [r["value"] if "value" in r else ["digest", r["digest"]] for r in results]
            limits = [max(MIN_TIME_LIMIT_S, GT_TIME_LIMIT_FACTOR * r["seconds"]) for r in results]
            self._truth[(task.task_id, part)] = _Truth(inputs, outputs, limits)
        return [self._truth[(t.task_id, part)] for t in tasks]

    def _run_part(self, pairs: Sequence[tuple[CodeTask, str]], part: str) -> list[dict]:
        truths = self.truth([task for task, _ in pairs], part)
        calls = [(CALLS_JOB, _payload(solution, task, truth.inputs, truth.limits), JOB_TIMEOUT_S)
                 for (task, solution), truth in zip(pairs, truths)]
        return [_judge(task, truth, run) for (task, _), truth, run in zip(pairs, truths, self.sandbox.imap(calls))]


def _payload(code: str, task: CodeTask, inputs: list, limits: list[float] | None) -> dict:
    return {"code": code, "call": task.entry_point, "inputs": [[encode(a, _budget=[MAX_OUTPUT_ITEMS]) for a in inp]
                                                               for inp in inputs],
            "limits_s": limits, "total_s": TASK_TIME_CAP_S if limits else None, "filename": "<solution>",
            "module_name": "__evalplus__", "max_items": MAX_OUTPUT_ITEMS, "digest_large": True}


def _judge(task: CodeTask, truth: _Truth, run) -> dict:
    """A candidate's run judged against the canonical outputs, input by input, with EvalPlus's rules."""
    data = run.result if isinstance(run.result, dict) else None
    if data is None:
        reason = "timed out" if run.stopped_by == "timeout" else f"SandboxError: {run.error or 'the run died'}"
        return {"passed": False, "reason": reason, "test": ""}
    if not data.get("ok"):
        exc = data.get("exception") or {}
        return {"passed": False, "reason": f"{exc.get('type', 'Error')}: {exc.get('message', '')}"[:400], "test": ""}
    not_none = task.dataset == "mbpp" and task.entry_point in MBPP_OUTPUT_NOT_NONE_TASKS
    results = data.get("results") or []
    for index, (inp, expected_tree) in enumerate(zip(truth.inputs, truth.outputs)):
        large = expected_tree[0] == "digest"
        expected = None if large else decode(expected_tree)
        if not_none:
            expected = large or expected is not None
        shown = _TOO_LARGE if large and not not_none else expected
        if index >= len(results):
            return _failure(task, inp, shown, "the run stopped early")
        result = results[index]
        if result.get("too_slow"):
            return _failure(task, inp, shown, "too slow")
        if "value" not in result and "digest" not in result:
            exc = result.get("exception") or {}
            return _failure(task, inp, shown, f"{exc.get('type', 'Error')}: {str(exc.get('message', ''))[:300]}")
        if not_none and "digest" in result:
            ok = expected is True  # a value too large to send is not None
        elif large or "digest" in result:
            ok = large and result.get("digest") == expected_tree[1]  # too large to send: only an exact match
        else:
            ok = _accepts(task, inp, result["value"], expected_tree, expected)
        if not ok:
            return _failure(task, inp, shown, "wrong output")
    return {"passed": True, "reason": "", "test": ""}


def _accepts(task: CodeTask, inp: list, tree, expected_tree, expected) -> bool:
    """EvalPlus's comparison on decoded values; an output that is not a plain literal (an object
    of the candidate's own, or one too large to send) passes only where the expected one is the
    very same tree."""
    if not is_literal(tree):
        return tree == expected_tree
    try:
        return check_output(inp, decode(tree), expected, task.atol, task.dataset, task.entry_point)
    except Exception:  # noqa: BLE001 - a comparison of mismatched shapes is a wrong output
        return False


#: longest failing-test assertion handed back (a refine prompt must stay readable)
TEST_CHARS = 1500


_TOO_LARGE = object()


def _failure(task: CodeTask, inp: list, expected, reason: str) -> dict:
    """A failed input: why, and the input as an assertion (for a self-refine prompt)."""
    try:
        shown = "<a value too large to show>" if expected is _TOO_LARGE else repr(expected)
        test = f"assert {task.entry_point}({', '.join(repr(a) for a in inp)}) == {shown}"
    except ValueError:  # an integer too long for decimal text
        test = f"# {task.entry_point} fails on an input too large to show"
    if len(test) > TEST_CHARS:
        test = test[:TEST_CHARS] + " ..."
    return {"passed": False, "reason": reason, "test": test}


def _inputs(task: CodeTask, part: str) -> list:
    return task.base_input if part == "base" else task.plus_input
