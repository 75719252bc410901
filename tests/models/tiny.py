"""Test helper: a tiny LLaMA (2 layers, random weights) and a byte-level BPE tokenizer trained
in about a second on a few stdlib files, saved the way ``save_pretrained`` saves a checkpoint.

Used by tests of ``models.hf``, ``duck.explain`` and the ``--model`` path of ``duck run``; the
weights are random, so generated text is gibberish, which is all these tests need: loading,
streaming, stopping and error paths are real.
"""

from __future__ import annotations

import os
from pathlib import Path

def stdlib_text(limit_bytes: int = 400_000) -> list[str]:

    root = Path(os.__file__).parent
    texts, size = [], 0
    for name in ("textwrap.py", "string.py", "functools.py", "json/encoder.py", "collections/__init__.py", "ast.py", "argparse.py"):
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        texts.append(text)
        size += len(text)
        if size > limit_bytes:
            break
    return texts


def build_tiny_model(folder: Path, *, vocab_size: int = 512, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """``trainer.tiny``'s model on a small vocabulary, made never to choose end-of-sequence, so
    greedy generation always runs to its limit; no ``duck.json`` (a plain checkpoint)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.tiny import build_tiny_model as build

    build(folder, texts=stdlib_text(), vocab_size=vocab_size, hidden=hidden, layers=layers, seed=seed, prompt_format=None)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        model.lm_head.weight[tokenizer.eos_token_id].zero_()
        model.lm_head.weight[tokenizer.pad_token_id].zero_()
    model.save_pretrained(folder)
    return folder


def build_tiny_adapter(base: Path, folder: Path) -> Path:
    """A LoRA adapter (peft) on the tiny model, saved with the base's path recorded."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(folder)
    return folder
