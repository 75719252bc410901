"""Every shipped recipe config parses; the paper's numbers are what the configs say."""

from __future__ import annotations

import pytest

from duck.errors import DuckError
from trainer.config import available_configs, load_config


def test_every_shipped_config_parses():
    names = available_configs()
    assert {"semcoder-6.7b", "semcoder-s-6.7b", "refine-6.7b", "semcoder-6.7b-qlora", "tiny"} <= set(names)
    for name in names:
        config = load_config(name)
        assert config.name == name
        assert config.recipe in {"semcoder", "refine"}
        assert config.train.learning_rate > 0


def test_semcoder_config_is_the_papers_recipe():
    config = load_config("semcoder-6.7b")
    assert config.train.epochs == 2
    assert config.train.learning_rate == 5e-5
    assert config.train.scheduler == "cosine_with_min_lr"
    assert config.train.learning_rate * config.train.min_lr_rate == pytest.approx(5e-6)
    assert config.train.global_batch_size == 512
    assert config.data.max_length == 2048
    assert config.train.bf16 and config.model.gradient_checkpointing and config.model.flash_attention
    assert config.launch.zero_stage == 3
    assert config.architecture_path().is_file()
    assert not config.data.packing  # the global batch counts samples, as the paper's does


def test_paper_recipes_batch_samples_not_packs():
    for name in ("semcoder-6.7b", "semcoder-s-6.7b", "refine-6.7b", "semcoder-6.7b-qlora"):
        assert not load_config(name).data.packing, name


def test_refine_config_is_the_papers_self_refine_recipe():
    config = load_config("refine-6.7b")
    assert config.recipe == "refine"
    assert config.train.learning_rate == 1e-5
    assert config.train.epochs == 2
    assert (config.train.per_device_batch_size, config.train.gradient_accumulation_steps, config.train.num_processes) == (16, 4, 8)
    assert config.train.warmup_steps == 5
    assert config.data.held_out == 0.05
    # scripts/train/finetune_refine.sh: cosine to 0, from semcoder/semcoder_s, eval every 50 steps
    assert config.train.scheduler == "cosine"
    assert config.model.base == "semcoder/semcoder_s"
    assert config.train.eval_steps == 50


def test_qlora_config_is_4bit_lora_on_one_gpu():
    config = load_config("semcoder-6.7b-qlora")
    assert config.model.load_in_4bit and config.lora is not None
    assert config.train.num_processes == 1


def test_semcoder_s_lists_a_larger_mixture():
    assert len(load_config("semcoder-s-6.7b").data.paths) > len(load_config("semcoder-6.7b").data.paths)


def test_unknown_setting_is_an_error_with_a_hint(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nrecipe: semcoder\ndescription: x\nmodel: {base: tiny}\ntrain: {learning_rat: 1.0e-3}\n")
    with pytest.raises(DuckError) as caught:
        load_config(str(path))
    assert "learning_rat" in caught.value.message and "learning_rate" in caught.value.hint


def test_unknown_config_name_lists_the_shipped_ones():
    with pytest.raises(DuckError) as caught:
        load_config("semcoder-70b")
    assert "semcoder-6.7b" in caught.value.hint
