"""Recording changes no result: all 800 CRUXEval samples and HumanEval+ canonical solutions, traced vs untraced.

Reads ../shared/data (a missing file fails, with a message: the data ships there). Runs in this process through ``record_call``.
"""

from __future__ import annotations

import copy
import gzip
import json
import sys

from duck.trace.limits import Limits
from duck.trace.recorder import record_call
from duck.trace.saferepr import safe_repr

from tests.shared_data import CRUXEVAL, HUMANEVAL_PLUS, require

LIMITS = Limits(max_steps=200_000)


def _load_jsonl(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _untraced(code: str, call: str, extra: dict | None = None) -> tuple[str | None, str | None]:
    namespace: dict = {"__name__": "__duck_sample__"}
    try:
        exec(compile(code, "<plain>", "exec"), namespace)
        namespace.update(extra or {})
        return safe_repr(eval(call, namespace), LIMITS.repr_limit), None
    except Exception as exc:  # noqa: BLE001
        return None, type(exc).__name__


def test_cruxeval_all_800_samples_record_their_result():
    path = CRUXEVAL
    require(path)
    samples = _load_jsonl(path)
    assert len(samples) == 800
    checked_against_expected = 0
    for sample in samples:
        call = f"f({sample['input']})"
        plain = _untraced(sample["code"], call)
        rec = record_call(sample["code"], call, limits=LIMITS)
        assert (rec.value, rec.exception[0] if rec.exception else None) == plain, sample["id"]
        returns = [e for e in rec.events if e["event"] == "return" and e["depth"] == 0]
        expected = repr(eval(sample["output"]))
        if plain[0] == expected and len(expected) <= LIMITS.repr_limit:
            assert returns and returns[-1]["value"] == expected, sample["id"]
            checked_against_expected += 1
    # Python 3.11 reproduces all 800; a few outputs are longer than the repr bound.
    if sys.version_info[:2] == (3, 11):
        assert checked_against_expected >= 780


def test_humaneval_plus_canonical_solutions_give_the_same_results_traced():
    path = HUMANEVAL_PLUS
    require(path)
    tasks = _load_jsonl(path)
    assert len(tasks) == 164
    compared = 0
    for task in tasks:
        code = task["prompt"] + task["canonical_solution"]
        for args in task["base_input"]:
            call = f"{task['entry_point']}(*ARGS)"
            plain = _untraced(code, call, {"ARGS": copy.deepcopy(args)})
            rec = record_call(code, call, limits=LIMITS, extra_globals={"ARGS": copy.deepcopy(args)})
            if rec.stopped_by:
                continue  # a long-running input: the step limit stopped it (counted below)
            assert (rec.value, rec.exception[0] if rec.exception else None) == plain, task["task_id"]
            compared += 1
    assert compared >= 0.95 * sum(len(t["base_input"]) for t in tasks)
