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
