"""The tiny and QLoRA recipes on a CUDA GPU (skipped without one)."""

from __future__ import annotations

import json

import pytest

from tests.trainer.conftest import duck_train

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_tiny_recipe_trains_in_bf16_on_gpu(pyx_dir, tmp_path):
    config = tmp_path / "tiny-gpu.yaml"
    from trainer.config import load_config

    config.write_text(open(load_config("tiny").source).read().replace("dtype: float32", "dtype: bfloat16")
                      .replace("bf16: false", "bf16: true").replace("use_cpu: true", "use_cpu: false"))
    out = tmp_path / "run"
    assert duck_train("semcoder", "--config", str(config), "--data", str(pyx_dir), "--output-dir", str(out), "--max-steps", "20") == 0
    losses = [h["loss"] for h in json.loads((out / "train_log.json").read_text()) if "loss" in h]
    assert sum(losses[-5:]) < sum(losses[:5])


def test_qlora_recipe_trains_an_adapter_on_gpu(tiny_run, pyx_dir, tmp_path):
    pytest.importorskip("bitsandbytes")
    config = tmp_path / "qlora-gpu.yaml"
    config.write_text(
        f"name: qlora-gpu\nrecipe: semcoder\ndescription: test\n"
        f"model: {{base: {tiny_run}, dtype: bfloat16, flash_attention: true, gradient_checkpointing: true, load_in_4bit: true}}\n"
        "lora: {r: 8, alpha: 16}\ndata: {max_length: 512}\n"
        "train: {learning_rate: 1.0e-3, per_device_batch_size: 4, gradient_accumulation_steps: 1, bf16: true}\n"
    )
    out = tmp_path / "adapter"
    assert duck_train("semcoder", "--config", str(config), "--data", str(pyx_dir), "--output-dir", str(out), "--max-steps", "5") == 0
    assert (out / "adapter_model.safetensors").is_file()
