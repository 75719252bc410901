"""Shared fixtures of the trainer tests: small SemCoder-schema data and one tiny run."""

from __future__ import annotations

import os

import pytest

from tests.trainer.fixtures import pyx_r_rows, pyx_rows, write_jsonl

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")


@pytest.fixture(scope="session")
def pyx_dir(tmp_path_factory):
    """A corpus-like folder: two shards of PyX rows."""
    root = tmp_path_factory.mktemp("pyx")
    rows = pyx_rows(120)
    write_jsonl(root / "shard-00000.jsonl", rows[:60])
    write_jsonl(root / "shard-00001.jsonl", rows[60:])
    return root


@pytest.fixture(scope="session")
def pyx_r_file(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("pyx-r") / "pyx-r.jsonl", pyx_r_rows(60))


def duck_train(command: str, *argv: str) -> int:
    """Run ``duck-train semcoder|refine`` in this process, as a launched process would."""
    from trainer.commands import common, refine, semcoder

    module = {"semcoder": semcoder, "refine": refine}[command]
    return common.standalone(command, module.configure, module.main, list(argv))


@pytest.fixture(scope="session")
def tiny_run(pyx_dir, tmp_path_factory):
    """The tiny recipe trained for 30 steps on the PyX fixture (shared by several tests)."""
    pytest.importorskip("trl")
    out = tmp_path_factory.mktemp("runs") / "tiny"
    rc = duck_train("semcoder", "--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(out), "--max-steps", "30")
    assert rc == 0
    return out
