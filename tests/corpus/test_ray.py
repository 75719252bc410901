"""``--ray``: the execute and monologue stages on Ray actors (a real local Ray when the
``corpus`` extra is installed), and the error a user gets without ray."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

import pytest

from corpus import cli
from duck.errors import DuckError

SEEDS = '''
def digit_sum(n: int) -> int:
    total = 0
    n = abs(n)
    while n:
        total += n % 10
        n //= 10
    return total
'''


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(list(argv))


def test_without_ray_installed_the_flag_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    from corpus.ray_pool import RayPool

    with pytest.raises(DuckError) as caught:
        RayPool(workers=1)
    assert "ray" in caught.value.message and "semcoder-duck[corpus]" in caught.value.hint


@pytest.mark.slow
def test_execute_and_monologue_run_on_a_local_ray(tmp_path):
    ray = pytest.importorskip("ray")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "digits.py").write_text(SEEDS)
    local, distributed = tmp_path / "local", tmp_path / "ray"
    for stage in ("seeds", "extract"):
        assert cli.main(_args(stage, "--seeds", str(seeds), "--out", str(local), "--workers", "1", "--quiet")
                        if stage == "seeds" else _args(stage, "--out", str(local), "--quiet")) == 0
    shutil.copytree(local, distributed)
    for stage in ("execute", "monologue"):
        assert cli.main(_args(stage, "--out", str(local), "--workers", "1", "--quiet")) == 0
    # one local Ray for both commands (a RayPool joins a running Ray and leaves it running)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for stage in ("execute", "monologue"):
            assert cli.main(_args(stage, "--out", str(distributed), "--workers", "1", "--ray", "--quiet")) == 0
    finally:
        ray.shutdown()
    rows = {out: [json.loads(line) for p in sorted((out / "monologue").glob("part-*.jsonl")) for line in p.open()]
            for out in (local, distributed)}
    assert rows[distributed] and rows[distributed] == rows[local]
    stats = json.loads((distributed / "stats.json").read_text())
    assert stats["execute"]["calls_kept"] >= 1 and stats["monologue"]["forward"] >= 1
