"""Test helper: a tiny LLaMA (2 layers, random weights) and a byte-level BPE tokenizer trained
in about a second on a few stdlib files, saved the way ``save_pretrained`` saves a checkpoint.

Used by tests of ``models.hf``, ``duck.explain`` and the ``--model`` path of ``duck run``; the
weights are random, so generated text is gibberish, which is all these tests need: loading,
streaming, stopping and error paths are real.
"""

from __future__ import annotations

import os
from pathlib import Path

SPECIAL = ["<s>", "</s>", "<pad>"]


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
    """Write a tokenizer and a randomly initialised 2-layer LLaMA into ``folder``; return it."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(stdlib_text(), vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL, show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    # make the model never choose end-of-sequence, so greedy generation always runs to its limit
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
