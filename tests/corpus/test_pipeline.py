"""The whole offline corpus path on a small seed folder: schema, answers, decontamination,
hostile samples, resume."""

from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path

import pytest

from corpus import cli
from corpus.export import validate_row
from corpus.jobs import SampleJob, SampleRunner
from corpus.shards import read_stage
from duck.sandbox.values import literal_call
from models.parse import answer_text, split_assertion
from models.prompts import row_prompt

from tests.shared_data import HUMANEVAL_PLUS as HUMANEVAL
from tests.shared_data import require

SEEDS = {
    "numbers.py": '''
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

def clamp(x, low=0, high=10):
    if x < low:
        return low
    if x > high:
        return high
    return x
''',
    "text.py": '''
import os

def vowels(s):
    count = 0
    for ch in s.lower():
        if ch in "aeiou":
            count += 1
    return count

def uses_os(path):
    return os.path.exists(path)

def set_order(s):
    seen = set(s)
    return "".join(seen)
''',
    "hostile.py": '''
def spin(n):
    while True:
        n += 1
    return n

def hog(n):
    data = [0] * (10 ** 10)
    return len(data) + n

def deep(n):
    return deep(n + 1) + 1
''',
}


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


def _planted_humaneval() -> tuple[str, str] | None:
    if not HUMANEVAL.exists():
        return None
    with gzip.open(HUMANEVAL, "rt") as stream:
        for line in stream:
            item = json.loads(line)
            if item["task_id"] == "HumanEval/13":  # greatest_common_divisor: a standalone loop
                return item["prompt"] + item["canonical_solution"], item["entry_point"]
    return None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    seeds = root / "seeds"
    seeds.mkdir()
    for name, text in SEEDS.items():
        (seeds / name).write_text(text)
    planted = _planted_humaneval()
    flags = ["--no-decontaminate"]
    saved = os.environ.get("DUCK_DATA_DIR")
    os.environ["DUCK_DATA_DIR"] = str(root / "data")  # duck's data folder, as `duck-train data` fills it
    if planted:
        (seeds / "planted.py").write_text(planted[0])
        from trainer.cli import main as duck_train

        assert duck_train(["data", "import", "--from", str(HUMANEVAL)]) == 0
        flags = []  # no flags: the build decontaminates against the data folder by default
    out = root / "out"
    try:
        assert cli.main(_args("build", "--seeds", str(seeds), "--out", str(out), "--workers", "2", "--quiet", *flags)) == 0
    finally:
        os.environ.pop("DUCK_DATA_DIR")
        if saved is not None:
            os.environ["DUCK_DATA_DIR"] = saved
    return out, planted


def _rows(out: Path, kind: str) -> list[dict]:
    return [json.loads(line) for p in sorted((out / "export" / kind).glob("part-*.jsonl")) for line in p.open()]


def test_every_row_matches_the_schema(built):
    out, _ = built
    pyx, pyxr = _rows(out, "pyx"), _rows(out, "pyxr")
    tasks = {validate_row(row) for row in pyx}
    assert {"forward", "backward", "nl"} <= tasks
    assert pyxr and {validate_row(row) for row in pyxr} == {"refine"}
    for row in pyx + pyxr:
        prompt, target = row_prompt(row)
        assert prompt and target == row["response"]
    # the offline path says so on every row: templates wrote the monologues and the rationales
    for row in pyx:
        assert row["meta"]["written_by"] == ("source" if row["meta"]["task"] == "nl" else "template")
    assert all(row["meta"]["written_by"] == "template" and row["meta"]["bug"].startswith("mutation-") for row in pyxr)
    manifest = json.loads((out / "export" / "manifest.json").read_text())
    assert manifest["stats"]["pyx_rows"] == len(pyx)


def _assertions_hold(pool, pairs: list[tuple[str, str]]) -> list[bool]:
    """For each (code, "assert call == literal"): whether the call, run confined, returns that literal."""
    import ast

    from duck.sandbox.values import decode, same

    jobs, expected = [], []
    for code, assertion in pairs:
        parts = split_assertion(assertion)
        literal_call(parts.left, "f")  # a call with literal arguments, as every row must hold
        jobs.append(SampleJob(code, call=parts.left))
        expected.append(ast.literal_eval(parts.right))
    return [o.literal and same(e, decode(o.value)) for e, o in zip(expected, pool.map(jobs))]


def test_every_answer_assertion_passes_when_executed(built):
    out, _ = built
    rows = [r for r in _rows(out, "pyx") if r["meta"]["task"] in ("forward", "backward")]
    fixes = _rows(out, "pyxr")
    with SampleRunner(2) as pool:
        assert all(_assertions_hold(pool, [(r["meta"]["code"], answer_text(r["response"])) for r in rows]))
        fixed = _assertions_hold(pool, [(r["meta"]["fix"], r["meta"]["failed_test"]) for r in fixes])
        buggy = _assertions_hold(pool, [(r["meta"]["buggy"], r["meta"]["failed_test"]) for r in fixes])
    assert all(fixed) and not any(buggy)


def test_filters_and_hostile_samples_are_counted(built):
    out, _ = built
    stats = json.loads((out / "stats.json").read_text())
    assert stats["extract"]["rejected_free_names"] >= 1  # uses_os
    assert stats["extract"]["hostile_timed_out"] >= 1  # spin
    codes = {r["meta"]["code"] for r in _rows(out, "pyx") if "code" in r["meta"]}
    assert not any("while True" in c or "10 ** 10" in c for c in codes)
    assert stats["extract"]["coverage_lines_hit"] <= stats["extract"]["coverage_lines"]


def test_planted_humaneval_solution_is_decontaminated(built):
    require(HUMANEVAL)
    out, planted = built
    assert planted is not None, f"HumanEval/13 is not in {HUMANEVAL}"
    decisions = list(read_stage(out / "dedup"))
    assert any(d["reason"] == "contaminated_code" for d in decisions)
    assert json.loads((out / "stats.json").read_text())["dedup"]["contaminated_code"] >= 1
    assert not any("while b:" in json.dumps(r) for r in _rows(out, "pyx") + _rows(out, "pyxr"))


def test_rerun_resumes_from_what_was_written(built):
    out, _ = built
    before = _rows(out, "pyx")
    # an interrupted monologue stage: no manifest, the last shard lost mid-write
    (out / "monologue" / "manifest.json").unlink()
    shard = sorted((out / "monologue").glob("part-*.jsonl"))[-1]
    shard.unlink()
    (out / "monologue" / (shard.name + ".tmp")).write_text('{"half": ')
    assert cli.main(_args("monologue", "--out", str(out), "--quiet")) == 0
    assert cli.main(_args("export", "--out", str(out), "--quiet")) == 0
    assert _rows(out, "pyx") == before


def test_execute_rejects_hash_seed_dependent_results():
    from corpus.execute import execute_records

    record = {"id": "set-order", "code": "def f(s):\n    return ''.join(set(s))\n",
              "tests": [{"call": "f('mississippi')"}, {"call": "f('')"}]}
    stats: dict = {}
    with SampleRunner(1, hash_seed=0) as first, SampleRunner(1, hash_seed=1) as second:
        kept = execute_records([record], first, second, stats)
    assert stats["rejected_nondeterministic"] == 1
    assert [run["call"] for run in kept[0]["runs"]] == ["f('')"]


def test_forward_simulation_is_dukes_own_narration(built):
    """One rendering for duck and the corpus: a forward row's "### Execution Simulation:" is
    exactly what duck.narration tells of the same call."""
    from duck.narration import execution_simulation
    from duck.trace.recorder import record_call

    out, _ = built
    rows = [r for r in _rows(out, "pyx") if r["meta"]["task"] == "forward"]
    assert rows
    for row in rows[:5]:  # the test's own seed functions: safe to run in-process
        recording = record_call(row["meta"]["code"], row["meta"]["call"], filename="<sample>")
        told = execution_simulation(recording.events, row["meta"]["code"], call=row["meta"]["call"],
                                    value=recording.value, max_lines=120)
        assert told.startswith("### Execution Simulation:") and told in row["response"]
        assert "### Understanding the Function" in row["response"]
        assert "### Key Properties and Constraints" in row["response"]


def test_mutants_only_touch_lines_the_tests_ran():
    from corpus.refine import mutants

    code = "def f(s):\n    if ':' in s:\n        return s.split(':')[1]\n    return s[1:] + 'x'\n"
    everywhere = {kind for _, kind in mutants(code, limit=50)}
    reached = mutants(code, limit=50, executed={2, 4})
    assert {"compare", "slice"} <= everywhere and reached
    assert all(buggy.splitlines()[2] == code.splitlines()[2] for buggy, _ in reached)  # line 3 untouched


def test_inputs_are_built_from_the_codes_own_constants():
    from corpus.extract import code_literals

    literals = code_literals("def f(s, n):\n    if ':' in s and n > 100:\n        return 1\n    return 0\n")
    assert "ab:cd" in literals["str"] and {99, 100, 101} <= set(literals["int"])


def test_a_cruxeval_io_pair_drops_that_call_not_the_sample(tmp_path):
    from corpus.dedup import Benchmarks, run_dedup
    from corpus.shards import StageRun

    runs = [{"call": "f('')", "output": "''"}, {"call": "f('ab')", "output": "'ba'"}]
    StageRun(tmp_path, "execute", False).run([[{"id": "rev", "code": "def f(s):\n    return s[::-1]\n", "runs": runs}]],
                                              lambda chunk, stats: chunk)
    benchmarks = Benchmarks()
    benchmarks.add_item({"code": "def f(text):\n    return text\n", "input": "''", "output": "''"})
    run_dedup(tmp_path, benchmarks, progress=False)
    [decision] = read_stage(tmp_path / "dedup")
    assert decision["kept"] and decision["dropped_calls"] == ["f('')"]
