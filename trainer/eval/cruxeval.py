"""CRUXEval-O (output prediction) and CRUXEval-I (input deduction): prompts, answer extraction
and scoring by execution.

The default check (``"literal"``) never runs a prediction and never lets the untrusted side
decide: a prediction must be a literal, read here with ``ast.literal_eval`` (-O: the output;
-I: a call ``f(...)`` whose arguments are all literals, keywords and a trailing comma allowed),
else it is inadmissible and fails. The benchmark's own ``f`` runs in ``duck.sandbox`` (3 s):
once per task on the benchmark input for the expected output, and for -I on the predicted
arguments (sent as values, not code); the values come back as data and are compared here with
``duck.sandbox.values.same`` (types must match). The official harness's looser check
(``"official"``: ``{code}\nassert {output} == {prediction}`` executed, in the sandbox, with its
admissibility filter) stays for comparison with published numbers. A model's raw text is
reduced to a prediction with ``models.parse`` (the text after the last ``[ANSWER]``, split at
``assert`` / ``==``).

This module does not generate and does not print tables.
"""

from __future__ import annotations

import ast
from typing import Literal, Sequence

from duck.sandbox.values import decode, encode, is_literal, literal_call, same
from models import parse
from models.prompts import backward_prompt, cruxeval_question, forward_prompt
from trainer.eval.data import CruxSample

Mode = Literal["output", "input"]
Check = Literal["literal", "official"]
CHECKS = ("literal", "official")
#: the job function every check runs in the sandbox
SNIPPET_JOB = "duck.sandbox.jobs:run_snippet"
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


def literal_prediction(prediction: str | None, mode: Mode) -> tuple | None:
    """What an admissible prediction states, read without running it: -O ``(value,)``, -I
    ``(args, kwargs)`` of a call of ``f`` with literal arguments; None when it is not a literal."""
    if not prediction or not prediction.strip():
        return None
    try:
        if mode == "output":
            return (ast.literal_eval(prediction.strip()),)
        _, args, kwargs = literal_call(prediction, "f")
        return args, kwargs
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def status(sample: CruxSample, prediction: str | None, mode: Mode, check: Check = "literal") -> str | None:
    """Why a prediction fails before anything runs: ``"missing"``, ``"inadmissible"``, else None."""
    if not prediction or not prediction.strip():
        return "missing"
    if check == "official":
        return None if is_admissible(sample, prediction, mode) else "inadmissible"
    return None if literal_prediction(prediction, mode) is not None else "inadmissible"


def expected_payload(sample: CruxSample) -> dict:
    """The sandbox payload that runs the benchmark's ``f`` on the benchmark's input."""
    return {"code": sample.code, "call": sample.call, "filename": "<cruxeval>"}


def input_payload(sample: CruxSample, stated: tuple) -> dict:
    """The sandbox payload that runs the benchmark's ``f`` on a predicted input (values, not code)."""
    args, kwargs = stated
    return {"code": sample.code, "call": "f", "args": [encode(a) for a in args],
            "kwargs": {k: encode(v) for k, v in kwargs.items()}, "filename": "<cruxeval>"}


def official_payload(sample: CruxSample, prediction: str) -> dict:
    """The official harness's check, run in the sandbox: it passes when the snippet finishes."""
    return {"code": f"{sample.code}\nassert {sample.output} == {prediction}", "call": None, "filename": "<cruxeval>"}


def _value(run) -> object | None:
    """The literal a run returned, decoded here, or None (it failed or returned an object)."""
    data = run.result if isinstance(run.result, dict) else None
    if not data or not data.get("ok") or not is_literal(data.get("value")):
        return None
    return (decode(data["value"]),)


def score_predictions(sandbox, samples: Sequence[CruxSample], predictions: Sequence[Sequence[str | None]],
                      mode: Mode, check: Check = "literal") -> list[list[bool]]:
    """``correct[i][j]``: whether prediction j for sample i passes (see the module docstring).
    Runs the checks on ``sandbox`` (a ``duck.sandbox.Sandbox``); a missing or inadmissible
    prediction fails."""
    correct = [[False] * len(preds) for preds in predictions]
    calls, where = [], []
    if check == "official":
        for i, (sample, preds) in enumerate(zip(samples, predictions)):
            for j, pred in enumerate(preds):
                if status(sample, pred, mode, check) is None:
                    calls.append((SNIPPET_JOB, official_payload(sample, pred), TIMEOUT_S))
                    where.append((i, j))
        for (i, j), run in zip(where, sandbox.imap(calls)):
            correct[i][j] = isinstance(run.result, dict) and bool(run.result.get("ok"))
        return correct
    stated = [[literal_prediction(p, mode) for p in preds] for preds in predictions]
    tasks = [i for i, row in enumerate(stated) if any(s is not None for s in row)]
    expected = dict(zip(tasks, map(_value, sandbox.imap(
        (SNIPPET_JOB, expected_payload(samples[i]), TIMEOUT_S) for i in tasks))))
    for i in tasks:
        for j, claim in enumerate(stated[i]):
            if claim is None or expected[i] is None:
                continue
            if mode == "output":
                correct[i][j] = same(expected[i][0], claim[0])
            else:
                calls.append((SNIPPET_JOB, input_payload(samples[i], claim), TIMEOUT_S))
                where.append((i, j))
    for (i, j), run in zip(where, sandbox.imap(calls)):
        got = _value(run)
        correct[i][j] = got is not None and same(expected[i][0], got[0])
    return correct
