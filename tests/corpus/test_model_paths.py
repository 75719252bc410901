"""The corpus stages that need a model, the paper's path: synthesize (OSS-Instruct, bounded
retries with the error until the code runs, input expansion), model monologues (paper-style
few-shot, rejection sampling: executed answers, reproduced outputs, grounded claims) and
model-written PyX-R (the model's own failing solutions, its rationales kept only when the fix
passes every test and the claims hold).

A scripted backend (a fake, here only) drives the exact paths; one build runs a real tiny
transformers model through ``duck-train corpus build --model DIR``, whose gibberish must be
rejected, counted, and kept out of the export.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path

import pytest

from corpus import cli
from corpus.execute import execute_records
from corpus.export import validate_row
from corpus.monologue import model_monologues
from corpus.jobs import SampleJob, SampleRunner
from corpus.synthesize import parse_answer, synthesize_records
from models.parse import answer_text

SUM = "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"

SEEDS = '''
def running_max(values):
    """Return the running maximum of a list of numbers."""
    best = None
    out = []
    for v in values:
        if best is None or v > best:
            best = v
        out.append(best)
    return out

def digit_sum(n: int) -> int:
    total = 0
    n = abs(n)
    while n:
        total += n % 10
        n //= 10
    return total
'''


class ScriptedBackend:
    """A fake model for tests: ``answer(prompt, sample_index)`` writes each completion."""

    name = "scripted (test)"

    def __init__(self, answer) -> None:
        self.answer = answer
        self.prompts: list[str] = []
        self.closed = False

    def generate(self, prompts, *, max_new_tokens=512, stop=(), temperature=0.0, n=1):
        self.prompts += list(prompts)
        return [self.answer(prompt, k) for prompt in prompts for k in range(n)]

    def stream(self, prompt, **kwargs):
        yield from self.generate([prompt], **kwargs)

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def pools():
    with SampleRunner(2, hash_seed=0) as first, SampleRunner(1, hash_seed=1) as second:
        yield first, second


def _executed(pools, code: str, calls: list[str]) -> dict:
    stats: dict = {}
    kept = execute_records([{"id": "sum", "code": code, "tests": [{"call": c} for c in calls]}], *pools, stats)
    assert len(kept) == 1, stats
    record = kept[0]
    return record


def test_model_monologues_keep_only_answers_that_execute_and_are_grounded(pools):
    record = _executed(pools, SUM, ["f([1, 2])"])
    forward = [
        "`total` becomes 99 in the loop.\n[/MONOLOGUE]\n[ANSWER]\nassert f([1, 2]) == 3\n[/ANSWER]",  # ungrounded
        "I am not sure what it returns.",  # no answer
        "`total` becomes 3.\n[/MONOLOGUE]\n[ANSWER]\nassert f([1, 2]) == 4\n[/ANSWER]",  # wrong answer
        "`total` becomes 1, then `total` becomes 3.\n[/MONOLOGUE]\n[ANSWER]\nassert f([9]) == 3\n[/ANSWER]",  # right
    ]
    backward = [
        "[ANSWER]\nassert f([2]) == 3\n[/ANSWER]",  # does not reproduce the output
        # another input that reproduces it, but a claim true only of the recorded run (x = 1)
        "`x` becomes 1 and `total` becomes 3.\n[ANSWER]\nassert f([3]) == 3\n[/ANSWER]",
        "The loop adds 3, so `total` becomes 3.\n[/MONOLOGUE]\n[ANSWER]\nassert f([3]) == 3\n[/ANSWER]",  # right
        "[ANSWER]\nassert f([1, 2]) == 3\n[/ANSWER]",  # right again: a second one is not kept
    ]

    def answer(prompt: str, k: int) -> str:
        return (forward if prompt.endswith("== ??\n[/PYTHON]\n[MONOLOGUE]\n") else backward)[k]

    backend = ScriptedBackend(answer)
    stats: dict = {}
    [kept] = model_monologues([record], backend, pools[0], stats, samples=4)
    assert stats["forward_sampled"] == stats["backward_sampled"] == 4
    assert stats["rejected_forward_grounding"] == 1
    assert stats["rejected_forward_no_answer"] == 1
    assert stats["rejected_forward_wrong_answer"] == 1
    assert stats["rejected_backward_wrong_answer"] == 1
    assert stats["rejected_backward_grounding"] == 1  # grounded on f([3])'s own trace, where x is never 1
    assert stats["forward"] == stats["backward"] == 1 and stats["backward_extra_samples"] == 1
    by_direction = {m["direction"]: m for m in kept}
    # the kept answer is the assertion that was executed: the question's call, not the model's f([9])
    assert answer_text(by_direction["forward"]["response"]) == "assert f([1, 2]) == 3"
    assert answer_text(by_direction["backward"]["response"]) == "assert f([3]) == 3"
    assert all(m["written_by"] == "model" and m["response"].startswith("[MONOLOGUE]\n") for m in kept)
    # each prompt carries a worked example of its own direction before the question
    forward_prompts = [p for p in backend.prompts if p.endswith("== ??\n[/PYTHON]\n[MONOLOGUE]\n")]
    assert forward_prompts and all(p.count("### Execution Simulation:") == 1 for p in forward_prompts)
    assert all(p.count("### Reverse Deduction") == 1 for p in backend.prompts if p not in forward_prompts)
    # the worked examples are the paper's style: no template conclusion, constraints for backward
    assert not any("### Conclusion" in p for p in backend.prompts)
    assert all("must add up to exactly 8" in p for p in backend.prompts if p not in forward_prompts)


GOOD = ("Return the sum of the squares of a list of integers.\n\n[Solution]\n```python\ndef f(xs):\n"
        "    return sum(x * x for x in xs)\n```\n\n[Tests]\n```python\nassert f([1, 2]) == 5\nassert f([]) == 0\n```\n")
WRONG = GOOD.replace("== 5", "== 6")


def test_synthesize_retries_with_the_error_until_the_code_runs_then_gives_up(pools):
    seeds = [{"id": s, "source": f"total = 0\nfor x in {s}:\n    total += x * x\n", "origin": f"seed.py:{i}"}
             for i, s in enumerate(("first", "second", "third", "fourth"))]

    asked: dict[str, int] = {}

    def answer(prompt: str, k: int) -> str:
        seed = re.search(r"for x in (\w+):", prompt).group(1)
        attempt = asked[seed] = asked.get(seed, -1) + 1  # 0: the first answer, then each retry
        if "in first" in prompt:
            return GOOD
        if "in second" in prompt:
            return GOOD if attempt else WRONG
        if "in fourth" in prompt:
            return GOOD if attempt == 2 else GOOD.replace("def f", "def g")
        return "no sections at all" if attempt else GOOD.replace("def f", "def g")

    backend = ScriptedBackend(answer)
    stats: dict = {}
    records = synthesize_records(seeds, backend, pools[0], stats, retries=3, expand=0)
    assert stats["samples"] == 3 and stats["fixed_by_retry"] == 2
    assert stats["fixed_by_retry_1"] == 1 and stats["fixed_by_retry_2"] == 1
    assert stats["retried"] == 3 + 2 + 1  # three seeds, then two, then the one that never runs
    assert stats["rejected_after_retry"] == 1 and stats["failed_tests"] == 1
    retries = [p for p in backend.prompts if "failed:" in p]
    assert any("but the test expects" in p for p in retries)  # the failure goes back to the model
    assert any("does not define a function named `f`" in p for p in retries)
    assert max(p.count("failed:") for p in retries if "in third" in p) == 1  # a retry quotes the latest answer only
    assert len([p for p in backend.prompts if "in third" in p]) == 4  # first answer + 3 retries, then given up
    assert {r["seed_id"] for r in records} == {"first", "second", "fourth"}
    for record in records:
        assert record["source_kind"] == "synthesized" and record["problem"].startswith("Return the sum")
        assert [t["call"] for t in record["tests"]] == ["f([1, 2])", "f([])"]


def test_input_expansion_adds_mutated_inputs_that_run(pools):
    from corpus.synthesize import expand_inputs

    code = "def f(xs, k):\n    if k < 0:\n        raise ValueError(k)\n    return [x * k for x in xs]\n"
    records = [{"id": "syn-1", "code": code, "tests": [{"call": "f([1, 2], 3)"}]}]
    stats: dict = {}
    expand_inputs(records, pools[0], stats, limit=3, tries=20)
    added = [t for t in records[0]["tests"] if t.get("origin") == "mutated"]
    assert 1 <= len(added) <= 3 and stats["expanded_inputs"] == len(added)
    assert stats["expansion_tried"] > len(added)  # some mutations raise (k < 0) or repeat and are left out
    runs = pools[0].map([SampleJob(code, call=t["call"]) for t in added])
    assert all(run.ok and run.literal for run in runs) and len({t["call"] for t in added}) == len(added)


MAX2 = "def f(a, b):\n    if a > b:\n        return a\n    return b\n"


def test_model_refine_keeps_natural_bugs_whose_fix_passes_and_whose_claims_hold(pools):
    from corpus.refine import model_refine_records

    record = {**_executed(pools, MAX2, ["f(1, 2)", "f(5, 3)"]), "problem": "Return the larger of `a` and `b`."}
    solutions = [
        "```python\ndef f(a, b):\n    return max(a, b)\n```",  # correct: not a bug
        "Here you go: it is easy.",  # no code
        "```python\ndef f(a, b):\n    return a\n```\nThat is all.",  # a natural bug: fails f(1, 2)
        "def f(a, b):\n    return a\n",  # the same bug again
    ]
    rationales = [
        # the fix still fails
        "[MONOLOGUE]\nThe code returns `a`.\n[/MONOLOGUE]\n\n[Refined]\n```python\ndef f(a, b):\n    return b\n```\n",
        # right fix, but a claim the buggy run contradicts (it returns 1)
        "[MONOLOGUE]\nThe buggy code returns `7`.\n[/MONOLOGUE]\n\n[Refined]\n```python\ndef f(a, b):\n    return max(a, b)\n```\n",
        # right fix and grounded
        "[MONOLOGUE]\n### Execution Simulation\nThe buggy code returns `1` for `f(1, 2)`; the test expects 2.\n"
        "### Root Cause Analysis\nIt never compares `a` with `b`.\n[/MONOLOGUE]\n\n[Refined]\n```python\n"
        "def f(a, b):\n    return a if a > b else b\n```\n",
        # right too, but one rationale per bug is kept
        "[MONOLOGUE]\nIt ignores `b`.\n[/MONOLOGUE]\n\n[Refined]\n```python\ndef f(a, b):\n    return max(a, b)\n```\n",
    ]

    def answer(prompt: str, k: int) -> str:
        return (rationales if prompt.startswith("Debug and Refine") or "### Buggy Solution" in prompt else solutions)[k]

    backend = ScriptedBackend(answer)
    stats: dict = {}
    rows = model_refine_records([record], backend, pools[0], stats, samples=4)
    assert stats["solutions_sampled"] == 4 and stats["solutions_correct"] == 1
    assert stats["solutions_unparsable"] == 1 and stats["solutions_repeated"] == 1 and stats["bugs"] == 1
    assert stats["rejected_rationale_fix_failed"] == 1 and stats["rejected_rationale_grounding"] == 1
    assert stats["rationales_sampled"] == 3 and stats["pyxr_rows"] == 1  # it stopped at the first kept one
    [row] = rows
    validate_row({"fault": row["fault"], "response": row["response"], "meta": row["meta"]})
    assert row["meta"]["written_by"] == "model" and row["meta"]["bug"] == "model"
    assert row["meta"]["buggy"] == "def f(a, b):\n    return a\n" and "a if a > b else b" in row["response"]
    assert "retv = f(1, 2)\nassert retv == 2" in row["fault"]
    # the refine prompt carries the paper-style worked example before the question
    refine_prompts = [p for p in backend.prompts if "### Buggy Solution" in p]
    assert refine_prompts and all(p.count("### Root Cause Analysis") == 1 and p.count("### Buggy Solution") == 2
                                  for p in refine_prompts)


def test_synthesized_code_outside_the_guidelines_is_refused():
    sample, why = parse_answer(GOOD.replace("def f(xs):", "import os\ndef f(xs):"))
    assert sample is None and "import os" in why
    sample, why = parse_answer(GOOD.replace("    return sum", "    print(open('x'))\n    return sum"))
    assert sample is None and "`open`" in why


def _python_block(prompt: str) -> tuple[str, str]:
    """The question's code (labels stripped) and its call, from the last [PYTHON] block."""
    lines = prompt[prompt.rindex("[PYTHON]\n") + 9:prompt.rindex("[/PYTHON]")].splitlines()
    code = "\n".join(re.sub(r" # \[L\d+\]$", "", line) for line in lines[:-1]) + "\n"
    call = re.fullmatch(r"assert (f\(.*\)) == \?\?", lines[-1]).group(1)
    return code, call


def _truthful(prompt: str, k: int) -> str:
    """A fake model that runs the (test's own, trusted) code to answer forward questions, writes
    OSS-Instruct samples, writes a wrong solution to every NL->code problem and, for the
    problems it synthesized itself, a right rationale; it never answers backward questions."""
    if prompt.startswith("You are exceptionally skilled"):
        n = len(prompt) % 7
        return (GOOD.replace("x * x for", f"x * x + {n} for").replace("== 5", f"== {5 + 2 * n}")
                .replace("squares of a list of integers.", f"squares of a list of integers, plus {n} for each."))
    if "### Buggy Solution" in prompt:
        question = prompt[prompt.rindex("### Problem"):]
        match = re.search(r"plus (\d) for each", question)
        if not match:
            return "[MONOLOGUE]\nI do not know.\n[/MONOLOGUE]\n\n[Refined]\n```python\ndef f(*args):\n    return 0\n```\n"
        return ("[MONOLOGUE]\n### Execution Simulation\nThe buggy solution ignores the list and returns `None`.\n"
                "### Root Cause Analysis\nNothing is summed.\n### Bug Fixing\nSum the squares plus the constant.\n"
                f"[/MONOLOGUE]\n\n[Refined]\n```python\ndef f(xs):\n    return sum(x * x + {match.group(1)} for x in xs)\n```\n")
    if "<NL_Description>" in prompt:
        return "def f(*args):\n    return None\n"
    if not prompt.endswith("== ??\n[/PYTHON]\n[MONOLOGUE]\n"):
        return "I cannot deduce it."
    code, call = _python_block(prompt)
    namespace: dict = {}
    exec(code, namespace)
    value = eval(call, namespace)
    return f"The function returns `{value!r}`.\n[/MONOLOGUE]\n[ANSWER]\nassert {call} == {value!r}\n[/ANSWER]"


def _rows(out: Path, kind: str) -> list[dict]:
    return [json.loads(line) for p in sorted((out / "export" / kind).glob("part-*.jsonl")) for line in p.open()]


def _check_exported(out: Path) -> list[dict]:
    rows = _rows(out, "pyx")
    for row in rows + _rows(out, "pyxr"):
        validate_row(row)
    executable = [r for r in rows if r["meta"]["task"] in ("forward", "backward")]
    from tests.corpus.test_pipeline import _assertions_hold

    with SampleRunner(2) as pool:
        assert all(_assertions_hold(pool, [(r["meta"]["code"], answer_text(r["response"])) for r in executable]))
    return rows


def test_build_with_a_model_synthesizes_and_samples_monologues(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "numbers.py").write_text(SEEDS)
    out = tmp_path / "out"
    args = _args("build", "--seeds", str(seeds), "--out", str(out), "--model", "scripted", "--quiet",
                 "--samples", "1", "--synthesize-limit", "3", "--no-decontaminate")
    backend = ScriptedBackend(_truthful)
    args.loaded_backend = backend  # what `_backend` would have loaded from --model
    assert cli.main(args) == 0
    assert backend.closed
    stats = json.loads((out / "stats.json").read_text())
    assert stats["synthesize"]["samples"] == 2  # both snippets of the seed file
    assert stats["monologue"]["rejected_backward_no_answer"] >= 1 and stats["monologue"]["forward"] >= 3
    rows = _check_exported(out)
    tasks = {(r["meta"]["task"], r["meta"]["source"]) for r in rows}
    assert ("nl", "synthesized") in tasks and ("forward", "synthesized") in tasks and ("forward", "extracted") in tasks
    assert all(r["meta"]["written_by"] == "model" for r in rows if r["meta"]["task"] != "nl")
    assert {r["meta"]["written_by"] for r in rows if r["meta"]["task"] == "nl"} == {"model", "source"}
    assert not any(r["meta"]["task"] == "backward" for r in rows)
    # input expansion gave the synthesized samples more calls than their tests
    assert stats["synthesize"]["expanded_inputs"] >= 1
    assert any(r["meta"]["source"] == "synthesized" and r["meta"]["call"] not in ("f([1, 2])", "f([])")
               for r in rows if r["meta"]["task"] == "forward")
    # PyX-R from the model: its own wrong solutions, fixed by its verified rationales (for the problems it
    # can fix); the extracted ones' fixes fail and are counted, not kept
    pyxr = _rows(out, "pyxr")
    assert pyxr and stats["refine"]["bugs"] >= 3 and stats["refine"]["rejected_rationale_fix_failed"] >= 1
    assert all(r["meta"]["written_by"] == "model" and r["meta"]["source"] == "synthesized" for r in pyxr)
    from tests.corpus.test_pipeline import _assertions_hold

    with SampleRunner(1) as pool:
        assert all(_assertions_hold(pool, [(r["meta"]["fix"], r["meta"]["failed_test"]) for r in pyxr]))


def test_synthesize_without_a_model_says_what_to_pass(tmp_path):
    from duck.errors import DuckError

    with pytest.raises(DuckError) as caught:
        cli.main(_args("synthesize", "--out", str(tmp_path), "--quiet"))
    assert "--model" in caught.value.hint


@pytest.mark.slow
def test_build_with_a_real_tiny_model_rejects_its_gibberish(tmp_path):
    pytest.importorskip("transformers")
    from tests.models.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "numbers.py").write_text(SEEDS.split("def digit_sum")[0])  # one function: running_max
    out = tmp_path / "out"
    assert cli.main(_args("build", "--seeds", str(seeds), "--out", str(out), "--model", str(model), "--quiet",
                          "--samples", "1", "--synthesize-limit", "1", "--max-new-tokens", "24",
                          "--no-decontaminate")) == 0
    stats = json.loads((out / "stats.json").read_text())
    synthesized, monologue = stats["synthesize"], stats["monologue"]
    # three retries with the error (the default bound), then the seed is given up
    assert synthesized["retried"] == 3 and synthesized["rejected_after_retry"] == 1 and "samples" not in synthesized
    sampled = monologue["forward_sampled"] + monologue["backward_sampled"]
    rejected = sum(v for k, v in monologue.items() if k.startswith("rejected_"))
    assert sampled > 0 and rejected == sampled and "forward" not in monologue
    # the model path of PyX-R ran on the real model too: its solutions are sampled, none becomes a row
    refine = stats["refine"]
    assert refine["solutions_sampled"] == 1 and "pyxr_rows" not in refine
    assert refine.get("solutions_unparsable", 0) + refine.get("bugs", 0) + refine.get("solutions_correct", 0) == 1
    rows = _check_exported(out)
    assert _rows(out, "pyxr") == []
    # only the docstring's NL->code row survives
    assert [r["meta"]["task"] for r in rows] == ["nl"] and ast.parse(rows[0]["response"])


def test_the_paper_path_through_two_openai_compatible_servers(tmp_path):
    """--synthesis-endpoint writes the problems, --endpoint the monologues and PyX-R: what leaves
    duck goes to the right server (real HTTP stubs, the same OpenAI-compatible backend as vLLM)."""
    from tests.trainer.test_released_prompts import RecordingServer

    writer, reasoner = RecordingServer(lambda p: _truthful(p, 0)), RecordingServer(lambda p: _truthful(p, 0))
    try:
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "numbers.py").write_text(SEEDS)
        out = tmp_path / "out"
        assert cli.main(_args("build", "--seeds", str(seeds), "--out", str(out), "--quiet", "--samples", "1",
                              "--synthesize-limit", "3", "--no-decontaminate", "--endpoint", reasoner.url,
                              "--synthesis-endpoint", writer.url)) == 0
        written = [p for p, _ in writer.sent()]
        reasoned = [p for p, _ in reasoner.sent()]
        assert written and all(p.startswith("You are exceptionally skilled") for p in written)
        assert reasoned and not any(p.startswith("You are exceptionally skilled") for p in reasoned)
        assert any("### Buggy Solution" in p for p in reasoned) and any(p.endswith("[MONOLOGUE]\n") for p in reasoned)
    finally:
        writer.close()
        reasoner.close()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["synthesize"]["samples"] == 2 and stats["refine"]["pyxr_rows"] >= 1
    assert all(r["meta"]["written_by"] == "model" for r in _rows(out, "pyxr"))
