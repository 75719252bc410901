"""``duck-train data fetch``: the network path, run offline on local copies of the public files
(CRUXEval through ``datasets``' JSON loader, EvalPlus's release file through a file:// URL),
so fetched and imported files are the same rows in the same place."""

from __future__ import annotations

import gzip
import json

import pytest

from corpus import benchmarks
from duck.errors import DuckError
from tests.shared_data import DATA


def _rows(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(benchmarks.DATA_ENV, str(tmp_path / "data"))
    return tmp_path / "data"


def test_cruxeval_comes_through_datasets(data_dir):
    pytest.importorskip("datasets")
    source = DATA / "cruxeval.jsonl"
    path = benchmarks.fetch("cruxeval", f"hub:{source}:test")
    assert path == data_dir / "cruxeval.jsonl" and benchmarks.found() == {"cruxeval": path}
    assert _rows(path) == _rows(source)


def test_evalplus_release_files_come_as_they_are(data_dir):
    source = DATA / "evalplus" / "HumanEvalPlus.jsonl.gz"
    path = benchmarks.fetch("humaneval", source.as_uri())
    assert path == data_dir / "HumanEvalPlus.jsonl.gz" and _rows(path) == _rows(source)


def test_a_failed_fetch_says_how_to_import_offline(data_dir, tmp_path):
    with pytest.raises(DuckError) as caught:
        benchmarks.fetch("mbpp", (tmp_path / "missing.jsonl.gz").as_uri())
    assert "duck-train data import --from" in caught.value.hint
    with pytest.raises(DuckError) as caught:  # a file of another benchmark is refused
        benchmarks.fetch("mbpp", (DATA / "evalplus" / "HumanEvalPlus.jsonl.gz").as_uri())
    assert "holds humaneval" in str(caught.value)


def test_the_command_fetches_named_benchmarks(data_dir, monkeypatch, capsys):
    from trainer.cli import main

    source = DATA / "evalplus" / "MbppPlus.jsonl.gz"
    monkeypatch.setitem(benchmarks.SOURCES, "mbpp", source.as_uri())
    assert main(["data", "fetch", "mbpp"]) == 0
    assert "mbpp:" in capsys.readouterr().out and benchmarks.found() == {"mbpp": data_dir / "MbppPlus.jsonl.gz"}
    assert main(["data", "fetch", "nonsense"]) != 0
