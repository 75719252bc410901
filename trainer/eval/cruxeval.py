"""CRUXEval-O (output prediction) and CRUXEval-I (input deduction): prompts, answer extraction
and scoring by execution, as the official harness scores them.

A prediction is checked by running ``{code}\\nassert {output} == {prediction}`` with a 3 s
timeout in ``corpus.sandbox``: for -O the prediction is the output expression (and may not
contain the call ``f(<input>)`` itself), for -I it is the call ``f(<input>)``. A model's raw
text is reduced to a prediction with ``models.parse`` (the text after the last ``[ANSWER]``,
split at ``assert`` / ``==``).

This module does not generate and does not print tables.
"""

from __future__ import annotations

import ast
from typing import Literal, Sequence

from models import parse
from models.prompts import backward_prompt, cruxeval_question, forward_prompt
from trainer.eval.data import CruxSample

Mode = Literal["output", "input"]
#: the official harness's timeout per check
TIMEOUT_S = 3.0


def prompt(sample: CruxSample, mode: Mode) -> str:
    """The released forward (-O) or backward (-I) monologue prompt for the sample."""
    if mode == "output":
        return forward_prompt(cruxeval_question(sample.code, input=sample.input))
    return backward_prompt(cruxeval_question(sample.code, output=sample.output))


def prediction_from_text(text: str, mode: Mode) -> str | None:
    """The prediction a model's text makes, in the official generations format.

    -O: the predicted output expression; -I: the call ``f(...)``. The answer is the text
    after the last ``[ANSWER]`` (to ``[/ANSWER]`` or the end); text without ``[ANSWER]`` is
    taken as an answer already extracted, as official generation files hold them. An
    ``assert ... == ...`` is split at its top-level ``==``. ``None`` when nothing is there.
    """
    body = parse.answer_text(text) if parse.ANSWER_OPEN in text else text.strip()
    if not body:
        return None
    parts = parse.split_assertion(body)
    if parts is None:
        return None
    if mode == "input":
        return parts.left or None
    return (parts.right or parts.left) or None


def calls_f(expression: str, call: str) -> bool:
    """Whether an output prediction contains the call: ``f(<input>)`` as written (the official
    rule) or any real call of ``f`` in the expression (so ``f( x )`` cannot slip through;
    text inside a string literal does not count)."""
    if call in expression:
        return True
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return False
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "f"
               for node in ast.walk(tree))


def is_admissible(sample: CruxSample, prediction: str | None, mode: Mode) -> bool:
    """The official harness's filter: -I must call ``f(``; -O must not contain the call."""
    if not prediction or not prediction.strip():
        return False
    if mode == "input":
        return "f(" in prediction
    return not calls_f(prediction, sample.call)


def check_job(sample: CruxSample, prediction: str):
    """The sandbox job that checks one admissible prediction."""
    from corpus.sandbox import SandboxJob

    return SandboxJob(sample.code, check=f"assert {sample.output} == {prediction}", timeout_s=TIMEOUT_S,
                      filename="<cruxeval>")


def score_predictions(pool, samples: Sequence[CruxSample], predictions: Sequence[Sequence[str | None]],
                      mode: Mode) -> list[list[bool]]:
    """``correct[i][j]``: whether prediction j for sample i passes. Runs all checks on ``pool``."""
    jobs, where = [], []
    correct = [[False] * len(preds) for preds in predictions]
    for i, (sample, preds) in enumerate(zip(samples, predictions)):
        for j, pred in enumerate(preds):
            if is_admissible(sample, pred, mode):
                jobs.append(check_job(sample, pred))
                where.append((i, j))
    for (i, j), result in zip(where, pool.map(jobs)):
        correct[i][j] = bool(result.passed)
    return correct
