"""The tiny tokenizer and model that stand in for the 6.7B checkpoint in CPU tests."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from trainer.tiny import build_tiny_model, train_tokenizer  # noqa: E402

SAMPLE = "[PYTHON]\ndef f(x): # [L5]\n    return x * 2 # [L6]\nassert f(3) == ??\n[/PYTHON]\n[MONOLOGUE]\n"


def test_tokenizer_round_trips_semcoder_tags_as_plain_text():
    tokenizer = train_tokenizer(["def f(x):\n    return x\n" * 200], vocab_size=512)
    ids = tokenizer(SAMPLE).input_ids
    assert tokenizer.decode(ids) == SAMPLE
    assert tokenizer.decode(ids, skip_special_tokens=True) == SAMPLE  # tags are not special
    assert {tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token} == {"<s>", "</s>", "<pad>"}
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}) == 3


def test_build_tiny_model_saves_a_loadable_checkpoint(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = build_tiny_model(tmp_path / "tiny", texts=["def add(a, b):\n    return a + b\n" * 300], vocab_size=600)
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert json.loads((out / "duck.json").read_text())["prompt_format"] == "semcoder"
    ids = tokenizer("def add(a, b):", return_tensors="pt").input_ids
    generated = model.generate(ids, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] == ids.shape[1] + 5
