"""duck-train eval: CRUXEval and HumanEval+/MBPP+ scoring by execution on the real data, answer
parsing, timeouts, predictions files, pass@k, and the tiny model end to end."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.shared_data import CRUXEVAL as CRUX
from tests.shared_data import HUMANEVAL_PLUS as HUMANEVAL
from tests.shared_data import MBPP_PLUS as MBPP
from trainer.eval import cruxeval, evalplus
from trainer.eval.data import CruxSample, load_cruxeval, load_evalplus
from trainer.eval.passk import benchmark_pass_at_k, pass_at_k

needs_data = pytest.mark.usefixtures("benchmark_data")  # tests/conftest.py: missing data fails


@pytest.fixture(scope="module")
def pool():
    from trainer.eval.runner import open_eval_sandbox

    with open_eval_sandbox(2) as p:
        yield p


def _crux_pass(pool, samples, predictions, mode):
    correct = cruxeval.score_predictions(pool, samples, [[p] for p in predictions], mode)
    return benchmark_pass_at_k(correct)["pass@1"]


@needs_data
def test_cruxeval_ground_truth_scores_100_and_shuffled_scores_chance(pool):
    samples = load_cruxeval(CRUX)
    assert len(samples) == 800
    assert _crux_pass(pool, samples, [s.output for s in samples], "output") == 100.0
    # -I: the benchmark's own inputs pass, except the 12 that are not literals (lambdas, range(),
    # dict(...), str methods), which the literal check cannot admit; the official check takes them
    correct = cruxeval.score_predictions(pool, samples, [[s.call] for s in samples], "input")
    failed = {s.id for s, row in zip(samples, correct) if not row[0]}
    not_literal = {s.id for s in samples if cruxeval.literal_prediction(s.call, "input") is None}
    assert failed == not_literal and len(not_literal) == 12
    assert cruxeval.score_predictions(pool, [s for s in samples if s.id in failed], [[s.call] for s in samples
                                                                                     if s.id in failed],
                                      "input", "official") == [[True]] * 12
    outputs = [s.output for s in samples]
    calls = [s.call for s in samples]
    random.Random(0).shuffle(outputs)
    random.Random(0).shuffle(calls)
    assert _crux_pass(pool, samples, outputs, "output") < 10
    assert _crux_pass(pool, samples, calls, "input") < 10


def test_answers_are_taken_from_real_shaped_outputs():
    text = ("[MONOLOGUE]\n### Execution Simulation:\nfirst I thought [ANSWER]\nassert f(1) == 3\n[/ANSWER]\n"
            "but no.\n[/MONOLOGUE]\n[ANSWER]\nassert f(1) == [1, 'a==b']\n[/ANSWER]\nassert f(1) == 9")
    assert cruxeval.prediction_from_text(text, "output") == "[1, 'a==b']"
    assert cruxeval.prediction_from_text("[ANSWER]\nassert f('x') == 'xy'", "output") == "'xy'"  # no [/ANSWER]
    assert cruxeval.prediction_from_text("[ANSWER]\nassert f('x', b=2) == 'xy'\n[/ANSWER]", "input") == "f('x', b=2)"
    assert cruxeval.prediction_from_text("'already extracted'", "output") == "'already extracted'"
    assert cruxeval.prediction_from_text("no answer at all [MONOLOGUE]", "output") is not None  # raw text is a guess
    assert cruxeval.prediction_from_text("[ANSWER]\n\n[/ANSWER]", "output") is None


def test_an_output_prediction_that_repeats_the_call_does_not_count(pool):
    sample = CruxSample("s", "def f(x):\n    return x + 1", "1", "2")
    for pred in ("f(1)", "f( 1 )", "f(0) + 1"):
        assert not cruxeval.is_admissible(sample, pred, "output")
    # the call's text inside a string literal is an ordinary output
    assert cruxeval.is_admissible(CruxSample("t", "def f(s):\n    return s", "'a'", "'i f (x)'"), "'i f (x)'", "output")
    assert cruxeval.score_predictions(pool, [sample], [["f(1)", "2", "3", None]], "output") == [[False, True, False, False]]
    # an input prediction must be a call of f
    assert cruxeval.score_predictions(pool, [sample], [["1", "f(1)", "f(x=1)"]], "input") == [[False, True, True]]


def test_an_infinite_loop_is_cut_at_the_timeout(pool):
    sample = CruxSample("loop", "def f(x):\n    while x > 0:\n        x += 1\n    return x", "0", "0")
    run = pool.call(cruxeval.SNIPPET_JOB, cruxeval.input_payload(sample, ([1], {})), timeout_s=0.5)
    assert run.timed_out and run.result is None
    assert cruxeval.score_predictions(pool, [sample], [["f(1)", "f(-3)"]], "input") == [[False, False]]
    assert cruxeval.score_predictions(pool, [sample], [["f(0)"]], "input") == [[True]]


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - (3 * 2) / (5 * 4))  # 1 - C(3,2)/C(5,2)
    assert benchmark_pass_at_k([[True, False], [False, False]]) == {"pass@1": 25.0}
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 5)


@needs_data
def test_evalplus_canonical_solutions_pass_base_and_plus_subset(pool):
    """Every 12th task of each benchmark (deterministic); the full run is marked slow below."""
    tasks = load_evalplus(HUMANEVAL, "humaneval")[::12] + load_evalplus(MBPP, "mbpp")[::12]
    scores = evalplus.EvalPlusScorer(pool).score_solutions([(t, t.reference) for t in tasks])
    assert [s.task_id for s in scores if not (s.base and s.plus)] == []


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("path, dataset", [(HUMANEVAL, "humaneval"), (MBPP, "mbpp")])
def test_evalplus_canonical_solutions_score_100_on_all_inputs(pool, path, dataset):
    tasks = load_evalplus(path, dataset)
    scores = evalplus.EvalPlusScorer(pool).score_solutions([(t, t.reference) for t in tasks])
    assert 100.0 * sum(s.base and s.plus for s in scores) / len(scores) == 100.0


@needs_data
def test_evalplus_wrong_slow_and_looping_solutions_fail(pool):
    he = {t.task_id: t for t in load_evalplus(HUMANEVAL, "humaneval")}
    mbpp = {t.task_id: t for t in load_evalplus(MBPP, "mbpp")}
    close = he["HumanEval/0"]
    loop = close.prompt + "    while True:\n        pass\n"
    wrong = close.prompt + "    return False\n"
    similar = mbpp["Mbpp/2"]  # a set-equality task with tuple inputs
    any_order = "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n"
    scores = evalplus.EvalPlusScorer(pool).score_solutions([(close, loop), (close, wrong), (similar, any_order)])
    assert not scores[0].base and scores[0].reason == "too slow"
    assert not scores[1].base and scores[1].failed_test.startswith("assert has_close_elements(")
    assert scores[2].base and scores[2].plus


def test_float_outputs_compare_with_evalplus_tolerance():
    from trainer.eval.evalplus_harness import check_output

    assert check_output((), 0.1 + 0.2, 0.3, 0, "humaneval", "g")
    assert not check_output((), 0.31, 0.3, 0, "humaneval", "g")
    assert check_output((), [1.0, 2.0000000001], [1.0, 2.0], 0, "humaneval", "g")
    assert not check_output((), (1.0, 2.0), [1.0, 2.0], 0, "humaneval", "g")  # types must match
    assert check_output((), 3.14159, 3.1416, 1e-4, "mbpp", "g")
    assert not check_output((), float("nan"), float("nan"), 0, "humaneval", "g")


def test_solution_is_the_prompt_and_the_completion_up_to_the_fence():
    """As the released run_evalplus.py: solution = task prompt + completion cut at the first fence,
    then sanitized (``tests/trainer/test_sanitize.py``); here sanitizing changes nothing but layout."""
    task = evalplus.CodeTask("humaneval", "HumanEval/x", "from typing import List\n\ndef g(xs: List[int]) -> int:\n    \"\"\"sum\"\"\"\n",
                             "g", "    return sum(xs)\n", [], [], 0.0)
    solution = evalplus.solution_from_completion(task, "\n    return sum(xs)\n```\nexplanation")
    assert solution == 'from typing import List\ndef g(xs: List[int]) -> int:\n    """sum"""\n\n    return sum(xs)'
    assert evalplus.code_prompt(task).endswith('<Code>\n```python\nfrom typing import List\n\ndef g(xs: List[int]) -> int:\n    """sum"""')
    mbpp = evalplus.CodeTask("mbpp", "Mbpp/x", '"""\nWrite a function g\nassert g([1]) == 1\n"""\n', "g", "", [], [], 0.0)
    assert evalplus.code_prompt(mbpp).endswith("<Code>\n```python")


def _duck_train(*argv: str) -> int:
    from trainer.cli import main

    return main(list(argv))


@needs_data
def test_predictions_files_score_through_the_cli(tmp_path, capsys):
    rows = [json.loads(line) for line in CRUX.read_text().splitlines()[:5]]
    preds = tmp_path / "generations.json"
    preds.write_text(json.dumps({r["id"]: [r["output"], "None"] for r in rows}))
    assert _duck_train("eval", "cruxeval-o", "--predictions", str(preds), "--data", str(CRUX), "--limit", "5",
                       "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scores"]["CRUXEval-O"] == {"pass@1": 50.0}
    assert json.loads(Path(out["results_file"]).read_text())["settings"]["limit"] == 5

    tasks = load_evalplus(HUMANEVAL, "humaneval")[:3]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("\n".join([json.dumps({"task_id": tasks[0].task_id, "solution": tasks[0].reference}),
                                  json.dumps({"task_id": tasks[1].task_id, "completion": tasks[1].canonical_solution}),
                                  json.dumps({"task_id": tasks[2].task_id, "completion": "    return None\n"})]))
    assert _duck_train("eval", "humaneval", "--predictions", str(samples), "--data", str(HUMANEVAL),
                       "--limit", "3", "--output", str(tmp_path / "r.json")) == 0
    table = capsys.readouterr().out
    assert "66.7" in table and "79.3" in table and "74.4" in table  # ours beside the paper's
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["scores"]["HumanEval+"]["pass@1"] == pytest.approx(66.67)


def test_cli_errors_are_duck_errors(tmp_path, capsys):
    assert _duck_train("eval", "cruxeval-o", "--predictions", str(tmp_path / "p.json"),
                       "--data", str(tmp_path / "missing.jsonl")) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "hint:" in err and "Traceback" not in err


@needs_data
def test_tiny_model_runs_end_to_end_and_resumes(tmp_path, capsys):
    from trainer.tiny import build_tiny_model, stdlib_texts

    model = build_tiny_model(tmp_path / "tiny", texts=stdlib_texts(max_bytes=300_000), vocab_size=1024)
    argv = ["eval", "cruxeval-i", "--model", str(model), "--data", str(CRUX), "--limit", "3",
            "--max-new-tokens", "8", "--no-vllm", "--json"]
    assert _duck_train(*argv) == 0
    # the JSON object is the last line (a library imported in this process may have logged before it)
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["results_file"] == str(model / "eval" / "cruxeval-i.json")
    generations = Path(out["generations_file"]).read_text().splitlines()
    assert len(generations) == 3 and out["tasks"] == 3
    assert 0.0 <= out["scores"]["CRUXEval-I"]["pass@1"] <= 100.0
    assert _duck_train(*argv) == 0  # resumed: nothing generated again
    assert Path(out["generations_file"]).read_text().splitlines() == generations
    capsys.readouterr()

    assert _duck_train("eval", "refine", "--model", str(model), "--data", str(HUMANEVAL), "--limit", "2",
                       "--rounds", "2", "--max-new-tokens", "8", "--no-vllm", "--trace") == 0
    saved = json.loads((model / "eval" / "refine.json").read_text())
    assert [r["round"] for r in saved["rounds"]] == [0, 1, 2] and saved["settings"]["trace"] is True


def test_refine_prompt_trace_tells_the_failing_call(pool):
    from trainer.eval.runner import _trace_comment

    text = _trace_comment(pool, "def g(x):\n    y = x * 2\n    return y + 1\n", "assert g(3) == 6")
    assert text.startswith("# ### Execution Simulation:") and "g(3)" in text and "7" in text
