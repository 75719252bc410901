"""``--dry-run``: exact parameter counts on the meta device, the paper's schedule, tokens,
optimizer steps and memory per GPU, without loading weights."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("accelerate")

from tests.trainer.conftest import duck_train  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.plan import GIB, _packed_sequences, make_plan  # noqa: E402


def test_semcoder_dry_run_reports_exact_params_and_the_papers_schedule(pyx_dir, capsys):
    rc = duck_train("semcoder", "--config", "semcoder-6.7b", "--data", str(pyx_dir), "--dry-run", "--tokens-per-second", "20000")
    out = capsys.readouterr().out
    assert rc == 0
    assert "6,740,512,768 total, 6,740,512,768 trainable" in out
    assert "2 epochs, lr 5e-05 -> 5e-06 (cosine_with_min_lr)" in out
    assert "global 512 samples of up to 2048 tokens on 8 process(es)" in out
    assert "120 rows" in out and "ZeRO-3" in out and "wall time" in out
    assert "optimizer steps   1 per epoch in samples (120 samples / 512 per step), 2 in all for 2 epochs" in out


def test_the_papers_recipe_takes_the_papers_steps_and_packing_says_what_it_changes(pyx_dir, capsys):
    """Without data the plan uses the paper's PyX size; with --packing it counts packs and says so."""
    assert duck_train("semcoder", "--config", "semcoder-6.7b", "--dry-run") == 0
    out = capsys.readouterr().out
    # 93,456 PyX samples / 512 per step
    assert "optimizer steps   183 per epoch in samples (93,456 samples / 512 per step), 366 in all" in out
    assert "packing" not in out.split("optimizer steps")[1].split("memory")[0]
    assert duck_train("semcoder", "--config", "semcoder-6.7b", "--data", str(pyx_dir), "--dry-run", "--packing") == 0
    out = capsys.readouterr().out
    assert "global 512 packed sequences" in out
    packed = make_plan(dataclasses.replace(load_config("semcoder-6.7b"), data=dataclasses.replace(
        load_config("semcoder-6.7b").data, packing=True)), [pyx_dir])
    assert packed.sequences_per_epoch < 120 and packed.sample_steps_per_epoch == 1
    assert f"120 rows pack into {packed.sequences_per_epoch} sequences" in out


def test_refine_dry_run_reports_the_self_refine_schedule(pyx_r_file, capsys):
    assert duck_train("refine", "--config", "refine-6.7b", "--data", str(pyx_r_file), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "2 epochs, lr 1e-05 -> 0 (cosine), warmup 5 steps" in out  # the released script: cosine to 0
    assert "global 512 samples" in out
    assert "57 rows" in out  # 60 PyX-R rows, 5% (3) held out


def test_qlora_trainable_params_are_the_lora_matrices():
    plan = make_plan(load_config("semcoder-6.7b-qlora"), [])
    hidden, ffn, layers, r = 4096, 11008, 32, 64
    per_layer = 4 * r * (hidden + hidden) + 3 * r * (hidden + ffn)
    assert plan.trainable_params == layers * per_layer == 159_907_840
    assert plan.total_params == 6_740_512_768 + plan.trainable_params
    assert plan.memory.total < 24 * GIB  # the one-GPU 24 GB promise of the recipe


def test_zero_stages_shard_what_the_zero_paper_says():
    config = load_config("semcoder-6.7b")
    params = 6_740_512_768

    def memory(stage, offload=False):
        launch = dataclasses.replace(config.launch, zero_stage=stage, offload=offload)
        return make_plan(dataclasses.replace(config, launch=launch), []).memory

    plain, zero2, zero3, offload = memory(0), memory(2), memory(3), memory(3, True)
    assert plain.weights == zero2.weights == 2 * params
    assert plain.optimizer == 12 * params and zero2.optimizer == 12 * params / 8
    assert zero2.gradients == zero3.gradients == 2 * params / 8
    assert zero3.weights == 2 * params / 8
    assert offload.optimizer == 0 and offload.weights == 0
    assert plain.activations == zero3.activations > 0


def test_tiny_dry_run_counts_the_same_tokens_and_sequences_as_training(pyx_dir, tmp_path):
    pytest.importorskip("trl")
    from trainer.recipes.semcoder import build_trainer

    config = load_config("tiny")
    plan = make_plan(config, [pyx_dir])
    trainer, _ = build_trainer(config, [pyx_dir], tmp_path / "probe")
    assert plan.tokens_exact
    assert plan.tokens == sum(len(row["input_ids"]) for row in trainer.train_dataset)
    assert plan.sequences_per_epoch == len(trainer.train_dataset)
    assert plan.optimizer_steps == len(trainer.get_train_dataloader())  # 1 epoch, no accumulation


def test_best_fit_decreasing_packing():
    assert _packed_sequences([6, 5, 4, 3, 2], 10) == 2
    assert _packed_sequences([10, 10, 1], 10) == 3


def test_dry_run_plans_the_memory_of_the_chosen_launch_config(capsys):
    assert duck_train("semcoder", "--config", "semcoder-6.7b", "--dry-run", "--launch-config", "zero3-offload-8gpu") == 0
    offload = capsys.readouterr().out
    assert "with ZeRO-3 + CPU offload" in offload and "weights 0.0 GiB" in offload and "optimizer 0.0 GiB" in offload
    assert duck_train("semcoder", "--config", "semcoder-6.7b", "--dry-run", "--launch-config", "zero2-8gpu") == 0
    zero2 = capsys.readouterr().out
    assert "with ZeRO-2:" in zero2 and "weights 12.6 GiB" in zero2


def test_report_to_a_missing_integration_is_an_error_with_a_hint(capsys):
    import importlib.util

    if importlib.util.find_spec("tensorboard") is not None:
        pytest.skip("tensorboard is installed here")
    assert duck_train("semcoder", "--config", "tiny", "--dry-run", "--report-to", "tensorboard") == 2
    assert "pip install tensorboard" in capsys.readouterr().err
