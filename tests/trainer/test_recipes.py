"""The recipes train for real on CPU: the tiny model learns, saves what duck loads, resumes,
masks prompts, packs without pads; the refine recipe holds rows out; QLoRA saves an adapter."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from tests.trainer.conftest import duck_train

pytest.importorskip("trl")

from duck.errors import DuckError  # noqa: E402
from trainer.config import load_config  # noqa: E402


def _losses(run_dir):
    history = json.loads((run_dir / "train_log.json").read_text())
    return [h["loss"] for h in history if "loss" in h]


def test_tiny_recipe_loss_falls_and_the_run_dir_is_complete(tiny_run):
    losses = _losses(tiny_run)
    assert len(losses) == 30
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 1.0, (first, last)
    info = json.loads((tiny_run / "duck.json").read_text())
    assert info == {"prompt_format": "semcoder", "base_model": None, "adapter": False, "recipe": "tiny"}
    for name in ("config.json", "model.safetensors", "tokenizer.json", "loss.png"):
        assert (tiny_run / name).is_file(), name
    assert (tiny_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_rate_follows_cosine_to_min_lr(tiny_run):
    history = json.loads((tiny_run / "train_log.json").read_text())
    rates = [h["learning_rate"] for h in history if "learning_rate" in h]
    config = load_config("tiny")
    peak = config.train.learning_rate
    assert max(rates) == pytest.approx(peak, rel=0.05)
    assert all(b <= a + 1e-12 for a, b in zip(rates[2:], rates[3:]))  # decays after warm-up
    assert rates[-1] >= peak * config.train.min_lr_rate - 1e-12
    assert rates[-1] < peak * 0.2


def test_saved_tiny_model_loads_through_the_hf_backend_and_streams(tiny_run):
    from models.prompts import ANSWER_STOP, ExecutionQuestion, forward_prompt
    from models.registry import BackendSpec, load_backend

    backend = load_backend(BackendSpec(model=str(tiny_run)))
    try:
        assert backend.info["prompt_format"] == "semcoder"
        prompt = forward_prompt(ExecutionQuestion(code="def f(x):\n    return x + 1\n", call="f(2)"))
        chunks = list(backend.stream(prompt, max_new_tokens=12, stop=[ANSWER_STOP], temperature=0.0))
        assert "".join(chunks)
    finally:
        backend.close()


def test_resume_continues_from_the_last_checkpoint(tiny_run, pyx_dir, tmp_path, capsys):
    run_dir = tmp_path / "resumed"
    shutil.copytree(tiny_run, run_dir)
    rc = duck_train("semcoder", "--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(run_dir), "--max-steps", "33", "--resume")
    assert rc == 0
    assert "note: resuming with settings that differ" in capsys.readouterr().err  # train.max_steps 30 -> 33
    assert "train.max_steps=33" in (run_dir / "duck-train.yaml").read_text()
    history = json.loads((run_dir / "train_log.json").read_text())
    steps = [h["step"] for h in history if "loss" in h]
    assert steps[:30] == list(range(1, 31)) and steps[30:] == [31, 32, 33]


def test_training_over_an_earlier_run_needs_resume(tiny_run, pyx_dir, capsys):
    rc = duck_train("semcoder", "--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(tiny_run), "--max-steps", "1")
    assert rc == 2
    assert "--resume" in capsys.readouterr().err


def test_prompt_is_masked_eos_appended_and_packing_leaves_under_1pct_pads(pyx_dir, tmp_path):
    from trainer.batches import count_pads
    from trainer.recipes.semcoder import build_trainer

    config = load_config("tiny")
    packed, loaded = build_trainer(config, [pyx_dir], tmp_path / "packed")
    row = packed.train_dataset[0]
    assert row["labels"][0] == -100  # a packed row starts with a prompt, which is masked
    eos = loaded.tokenizer.eos_token_id
    ends = [i for i, token in enumerate(row["input_ids"]) if token == eos]
    assert ends and all(row["labels"][i] == eos for i in ends)  # each response ends with a trained EOS
    padded_config = dataclasses.replace(config, data=dataclasses.replace(config.data, packing=False, padding_free=False))
    padded, _ = build_trainer(padded_config, [pyx_dir], tmp_path / "padded")
    # unpacked rows: the loss covers exactly the response (as rendered by models.prompts) + EOS
    from trainer.data import load_examples

    examples = load_examples([pyx_dir])
    tokenizer = loaded.tokenizer
    for example, row in zip(examples[:12], padded.train_dataset):
        trained = [token for token, label in zip(row["input_ids"], row["labels"]) if label != -100]
        masked = [token for token, label in zip(row["input_ids"], row["labels"]) if label == -100]
        assert tokenizer.decode(masked) == example.prompt
        assert tokenizer.decode(trained) == example.completion + tokenizer.eos_token
    packed_count, padded_count = count_pads(packed), count_pads(padded)
    print(f"pad fraction: packed {packed_count.pad_fraction:.2%}, padded {padded_count.pad_fraction:.2%}")
    assert packed_count.pad_fraction < 0.01
    assert padded_count.pad_fraction > 0.05


def test_refine_recipe_holds_rows_out_and_scores_them(tiny_run, pyx_r_file, tmp_path):
    config_path = tmp_path / "refine-tiny.yaml"
    config_path.write_text(
        (load_config("tiny").source and open(load_config("tiny").source).read())
        .replace("name: tiny", "name: refine-tiny").replace("recipe: semcoder", "recipe: refine")
        .replace("  max_length: 512\n", "  max_length: 512\n  held_out: 0.05\n")
    )
    out = tmp_path / "refined"
    rc = duck_train("refine", "--config", str(config_path), "--data", str(pyx_r_file), "--output-dir", str(out), "--max-steps", "4")
    assert rc == 0
    history = json.loads((out / "train_log.json").read_text())
    assert any("eval_loss" in h for h in history)
    assert json.loads((out / "duck.json").read_text())["recipe"] == "refine-tiny"


def test_refine_rejects_pyx_only_data(pyx_dir, tmp_path):
    with pytest.raises(DuckError) as caught:
        from trainer.recipes.refine import run

        run(load_config("tiny"), [pyx_dir], tmp_path / "out")
    assert "PyX-R" in caught.value.hint


def test_qlora_adapter_trains_on_a_4bit_base_and_loads_back(tiny_run, pyx_dir, tmp_path):
    pytest.importorskip("bitsandbytes")
    pytest.importorskip("peft")
    config_path = tmp_path / "qlora-tiny.yaml"
    config_path.write_text(
        f"name: qlora-tiny\nrecipe: semcoder\ndescription: test\n"
        f"model: {{base: {tiny_run}, dtype: float32, flash_attention: false, gradient_checkpointing: false, load_in_4bit: true}}\n"
        "lora: {r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj, up_proj]}\n"
        "data: {max_length: 512}\n"
        "train: {learning_rate: 1.0e-3, per_device_batch_size: 4, gradient_accumulation_steps: 1, bf16: false, use_cpu: true}\n"
    )
    from trainer.recipes.semcoder import build_trainer

    trainer, _ = build_trainer(load_config(str(config_path)), [pyx_dir], tmp_path / "probe")
    kinds = {type(m).__name__ for m in trainer.model.modules()}
    assert "Linear4bit" in kinds, kinds  # the base really is NF4 on CPU
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    assert 0 < trainable < sum(p.numel() for p in trainer.model.parameters()) // 5
    del trainer

    out = tmp_path / "adapter"
    rc = duck_train("semcoder", "--config", str(config_path), "--data", str(pyx_dir), "--output-dir", str(out), "--max-steps", "4")
    assert rc == 0
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert not (out / "model.safetensors").exists()
    info = json.loads((out / "duck.json").read_text())
    assert info["adapter"] is True and info["base_model"] == str(tiny_run)

    from models.registry import BackendSpec, load_backend

    backend = load_backend(BackendSpec(model=str(out)))
    try:
        # duck.json says the adapter was trained on a 4-bit base: it loads that way with no flag
        assert "Linear4bit" in {type(m).__name__ for m in backend.model.modules()}
        assert "".join(backend.stream("def f(x):", max_new_tokens=4, stop=[], temperature=0.0))
    finally:
        backend.close()


def test_duck_run_plain_streams_from_the_trained_model_without_extra_flags(tiny_run, tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "prog.py"
    script.write_text("def f(x):\n    return x + 1\n\nprint(f(2))\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "duck.cli", "run", "--plain", "--model", str(tiny_run), str(script)],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(hf)" in result.stdout  # the explanation came from the trained checkpoint
    assert "error:" not in result.stderr


def test_tiny_recipe_trains_on_a_corpus_built_by_duck_train_corpus(tmp_path):
    """`duck-train corpus build` (offline, monologues rendered from traces) -> semcoder + refine."""
    from trainer.cli import main as duck_train_main

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "funcs.py").write_text(
        'def add_digits(n):\n    """Sum the decimal digits of n."""\n    total = 0\n    while n > 0:\n'
        "        total += n % 10\n        n //= 10\n    return total\n\n\n"
        'def running_max(values):\n    """The running maximum of a list."""\n    out = []\n    best = None\n'
        "    for v in values:\n        if best is None or v > best:\n            best = v\n        out.append(best)\n    return out\n\n\n"
        'def clamp(x, low, high):\n    """Clamp x into [low, high]."""\n    if x < low:\n        return low\n'
        "    if x > high:\n        return high\n    return x\n"
    )
    corpus = tmp_path / "corpus"
    assert duck_train_main(["corpus", "build", "--out", str(corpus), "--seeds", str(seeds), "--quiet",
                             "--no-decontaminate"]) == 0
    out = tmp_path / "tiny"
    assert duck_train("semcoder", "--config", "tiny", "--data", str(corpus), "--output-dir", str(out), "--max-steps", "12") == 0
    losses = _losses(out)
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    pyx_r = json.loads((corpus / "export" / "manifest.json").read_text())["stats"]["pyxr_rows"]
    if pyx_r:
        refined = tmp_path / "refined"
        assert duck_train("refine", "--config", "tiny", "--base-model", str(out), "--data", str(corpus), "--output-dir", str(refined), "--max-steps", "2", "--cpu", "recipe=refine") == 0
        assert json.loads((refined / "duck.json").read_text())["base_model"] == str(out)


def test_refine_continues_a_qlora_adapter_and_records_the_original_base(tiny_run, pyx_dir, pyx_r_file, tmp_path):
    pytest.importorskip("bitsandbytes")
    config_path = tmp_path / "qlora-tiny.yaml"
    config_path.write_text(
        f"name: qlora-tiny\nrecipe: semcoder\ndescription: test\n"
        f"model: {{base: {tiny_run}, dtype: float32, flash_attention: false, gradient_checkpointing: false, load_in_4bit: true}}\n"
        "lora: {r: 8, alpha: 16, dropout: 0.0}\ndata: {max_length: 512}\n"
        "train: {learning_rate: 1.0e-3, per_device_batch_size: 4, gradient_accumulation_steps: 1, bf16: false, use_cpu: true}\n"
    )
    first = tmp_path / "semcoder-adapter"
    assert duck_train("semcoder", "--config", str(config_path), "--data", str(pyx_dir), "--output-dir", str(first), "--max-steps", "2") == 0
    refined = tmp_path / "refine-adapter"
    assert duck_train("refine", "--config", str(config_path), "--base-model", str(first), "--data", str(pyx_r_file),
                      "--output-dir", str(refined), "--max-steps", "2", "recipe=refine") == 0
    info = json.loads((refined / "duck.json").read_text())
    assert info["adapter"] is True and info["base_model"] == str(tiny_run)
    from safetensors.torch import load_file

    before, after = load_file(first / "adapter_model.safetensors"), load_file(refined / "adapter_model.safetensors")
    assert before.keys() == after.keys()  # the same adapter, trained further
    assert any(not (before[k] == after[k]).all() for k in before)
