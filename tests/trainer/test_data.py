"""Corpus folders and JSONL files become prompt/completion pairs with the inference rendering."""

from __future__ import annotations

import gzip
import json

import pytest

from duck.errors import DuckError
from models.prompts import row_prompt
from tests.trainer.fixtures import pyx_r_rows, pyx_rows, write_jsonl
from trainer.data import load_examples, shard_paths, split_held_out


def test_rows_render_exactly_as_models_prompts_does(tmp_path):
    rows = pyx_rows(6)
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    examples = load_examples([path])
    assert [(e.prompt, e.completion) for e in examples] == [row_prompt(r) for r in rows]
    assert {e.task for e in examples} == {"nl", "forward", "backward"}
    assert examples[0].prompt.startswith("Simulate the Execution:")
    assert examples[0].origin == f"{path}:1"


def test_folder_with_manifest_reads_the_listed_shards_only(tmp_path):
    write_jsonl(tmp_path / "shards" / "a.jsonl", pyx_rows(3))
    with gzip.open(tmp_path / "shards" / "b.jsonl.gz", "wt") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in pyx_rows(2, seed=1)))
    write_jsonl(tmp_path / "stale.jsonl", pyx_rows(5))
    (tmp_path / "manifest.json").write_text(json.dumps({"shards": [{"path": "shards/a.jsonl"}, "shards/b.jsonl.gz"]}))
    assert [p.name for p in shard_paths(tmp_path)] == ["a.jsonl", "b.jsonl.gz"]
    assert len(load_examples([tmp_path])) == 5


def test_task_filter_keeps_pyx_r_rows_for_refine(tmp_path):
    write_jsonl(tmp_path / "mixed.jsonl", pyx_rows(4) + pyx_r_rows(3))
    refine = load_examples([tmp_path], tasks={"refine"})
    assert len(refine) == 3
    assert all(e.prompt.startswith("Debug and Refine the Code:") and "### Buggy Solution" in e.prompt for e in refine)


def test_bad_rows_name_their_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(pyx_rows(1)[0]) + "\n" + json.dumps({"nl": "x", "fwd_mnl": "y", "response": "z"}) + "\n")
    with pytest.raises(DuckError) as caught:
        load_examples([path])
    assert f"{path}:2" in caught.value.message


def test_missing_data_is_an_error_with_a_hint(tmp_path):
    with pytest.raises(DuckError) as caught:
        load_examples([tmp_path / "nowhere"])
    assert "--data" in caught.value.hint


def test_held_out_split_is_seeded_and_disjoint(tmp_path):
    examples = load_examples([write_jsonl(tmp_path / "a.jsonl", pyx_rows(40))])
    train, held = split_held_out(examples, 0.05, seed=3)
    assert len(held) == 2 and len(train) == 38
    assert not {e.origin for e in held} & {e.origin for e in train}
    assert split_held_out(examples, 0.05, seed=3)[1] == held


def test_semcoder_s_mixture_loads_a_sample_of_every_source(pyx_dir, tmp_path, capsys):
    """PyX + Magicoder-Evol-Instruct-110K rows + CodeContests rows (the paper's SemCoder-S mix)."""
    from tests.trainer.conftest import duck_train
    from trainer.data import load_examples

    evol = write_jsonl(tmp_path / "evol" / "data.jsonl", [
        {"instruction": "Write a Python function that reverses a string.",
         "response": "Here it is:\n```python\ndef rev(s):\n    return s[::-1]\n```"},
        {"instruction": "Explain list comprehensions.", "response": "They build lists: `[x * 2 for x in xs]`."},
    ])
    contests = write_jsonl(tmp_path / "cc" / "data.jsonl", [
        {"problem": "Read n and print n squared.", "solution": "n = int(input())\nprint(n * n)\n"},
        {"name": "1_A", "description": "Print the sum of two integers.",
         "solutions": {"language": [2, 3, 1, 3], "solution": ["int main(){}", "print(sum(map(int, input().split())))",
                                                             "print 1", "a, b = map(int, input().split())\nprint(a + b)"]}},
    ])
    examples = load_examples([pyx_dir, evol.parent, contests.parent])
    nl = [e for e in examples if "data.jsonl" in e.origin]
    assert len(examples) == 120 + 2 + 3 and len(nl) == 5 and all(e.task == "nl" for e in nl)
    first = nl[0]
    assert first.prompt == ("You are an exceptionally intelligent coding assistant that consistently delivers accurate and "
                            "reliable <Code> according to <NL_Description>\n\n<NL_Description>\n"
                            "Write a Python function that reverses a string.\n\n<Code>\n")
    assert first.completion.startswith("Here it is:\n```python\ndef rev(s):")
    contest = [e for e in nl if "Print the sum" in e.prompt]
    assert len(contest) == 2  # the two Python 3 solutions only
    assert "<NL_Description>\nWrite a solution to the following coding problem:\nPrint the sum of two integers.\n" in contest[0].prompt
    assert contest[0].completion == "```python\nprint(sum(map(int, input().split())))\n```"

    assert duck_train("semcoder", "--config", "semcoder-s-6.7b", "--data", str(pyx_dir), str(evol.parent),
                      str(contests.parent), "--dry-run") == 0
    assert "125 rows" in capsys.readouterr().out


def test_rows_of_no_known_format_are_refused_with_a_hint(tmp_path):
    from duck.errors import DuckError
    from trainer.data import load_examples

    path = write_jsonl(tmp_path / "odd.jsonl", [{"question": "?", "answer": "!"}])
    with pytest.raises(DuckError) as caught:
        load_examples([path])
    assert "instruction, response" in caught.value.hint
