"""Tiny stand-ins for the 6.7B model: a byte-level BPE tokenizer trained in seconds and a
2-layer LLaMA built from a config.

Tests (the trainer's and the models engineer's) and the ``tiny`` recipe use these so that
training, saving and loading run for real on a CPU. This module is not a model zoo and does
not download anything: the tokenizer is trained on the texts given (by default a slice of
the standard library's own source) and the weights are randomly initialised.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from transformers import LlamaConfig, PreTrainedTokenizerFast

BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN]

#: SemCoder's tags. They are trained into the vocabulary as ordinary text (the released
#: checkpoints tokenize them as normal text too), so they appear as whole BPE merges but are
#: never "special" tokens that a decoder would skip.
SEMCODER_TAGS = [
    "[PYTHON]", "[/PYTHON]", "[ANSWER]", "[/ANSWER]", "[MONOLOGUE]", "[/MONOLOGUE]",
    "[Refined]", "[/Refined]", "### Understanding the Function", "### Key Properties and Constraints",
    "### Execution Simulation:", "### Reverse Deduction", "assert f(", " == ??", "# [L",
]


def stdlib_texts(max_bytes: int = 2_000_000) -> Iterator[str]:
    """Python source from the running interpreter's standard library, up to ``max_bytes``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    total = 0
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        yield text
        total += len(text)
        if total >= max_bytes:
            return


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096) -> "PreTrainedTokenizerFast":
    """Train a byte-level BPE tokenizer on ``texts`` with bos/eos/pad/unk special tokens.

    Every byte is in the initial alphabet, so any text round-trips. SemCoder's tags are fed in
    as extra training text so they get compact encodings, but stay ordinary tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )

    def corpus() -> Iterator[str]:
        yield from texts
        for _ in range(50):  # make the tags frequent enough to earn their merges
            yield " ".join(SEMCODER_TAGS)

    tokenizer.train_from_iterator(corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        model_max_length=2048,
        clean_up_tokenization_spaces=False,
    )


def _ffn_size(hidden: int) -> int:
    """deepseek-coder's FFN/hidden ratio (11008/4096), rounded to a multiple of 128.

    bitsandbytes' CPU 4-bit kernels need the FFN width divisible by their block size, so an
    unrounded width (172 for hidden 64) loads in 4-bit but fails to generate.
    """
    return 128 * max(1, round(hidden * 11008 / 4096 / 128))


def tiny_llama_config(
    vocab_size: int,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 4,
    intermediate: int | None = None,
    max_positions: int = 2048,
    *,
    bos_token_id: int = 1,
    eos_token_id: int = 2,
    pad_token_id: int = 0,
) -> "LlamaConfig":
    """A LLaMA config of the same family as deepseek-coder-6.7b, shrunk to CPU size."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate or _ffn_size(hidden),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        rms_norm_eps=1e-6,
        rope_theta=100000.0,
        tie_word_embeddings=False,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
    )


def build_tiny_model(
    out_dir: Path | str,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 4096,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 4,
    seed: int = 0,
    prompt_format: str | None = "semcoder",
) -> Path:
    """Train a tokenizer, build a randomly initialised tiny LLaMA and save both to ``out_dir``.

    Returns ``out_dir``. Also writes ``duck.json`` (the prompt-format name) when
    ``prompt_format`` is given, so ``duck run --model DIR`` loads it without extra flags.
    """
    import torch
    from transformers import LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(texts if texts is not None else stdlib_texts(), vocab_size=vocab_size)
    config = tiny_llama_config(
        len(tokenizer),
        layers=layers,
        hidden=hidden,
        heads=heads,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if prompt_format:
        from trainer.artifacts import write_duck_json

        write_duck_json(out, prompt_format=prompt_format, base_model=None, adapter=False)
    return out
