"""The building blocks the recipes share: model + tokenizer loading, the ``SFTConfig`` built
from a recipe config, and what a finished run saves (weights or adapter, tokenizer,
``duck.json``, a loss plot).

These are plain functions, not a trainer class: each recipe in ``trainer/recipes/`` calls
them around its own visible ``SFTTrainer`` loop. torch, transformers, peft and TRL are
imported inside the functions, never at module top, so importing this module is cheap.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from duck.errors import DuckError
from trainer.artifacts import write_duck_json
from trainer.config import RecipeConfig
from trainer.data import Example

LOSS_PLOT = "loss.png"
TRAIN_LOG = "train_log.json"


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    base_model: str | None  # what duck.json records as the base (None for a from-scratch tiny model)
    peft_config: Any = None  # a peft.LoraConfig when the run trains an adapter


def attn_implementation(config: RecipeConfig) -> str:
    """flash_attention_2 when asked for and installed, else the config's fallback (sdpa)."""
    if config.model.flash_attention and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return config.model.attn_implementation


def load_model(config: RecipeConfig, train_texts: Sequence[str] = ()) -> LoadedModel:
    """The model to fine-tune and its tokenizer, as the recipe config describes.

    ``base: tiny`` builds a 2-layer LLaMA and trains its tokenizer on ``train_texts``.
    Otherwise ``base`` is a hub id or a local directory; ``load_in_4bit`` loads NF4 weights
    through bitsandbytes and the ``lora`` section turns the run into adapter training.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, config.model.dtype)
    if config.model.base == "tiny":
        from transformers import LlamaForCausalLM

        from trainer.tiny import tiny_llama_config, train_tokenizer

        tiny = config.tiny
        assert tiny is not None  # load_config fills it for base: tiny
        tokenizer = train_tokenizer(train_texts, vocab_size=tiny.vocab_size)
        torch.manual_seed(config.train.seed)
        model = LlamaForCausalLM(
            tiny_llama_config(
                len(tokenizer),
                layers=tiny.layers,
                hidden=tiny.hidden,
                heads=tiny.heads,
                max_positions=max(2048, config.data.max_length),
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        ).to(dtype)
        base = None
    else:
        base = config.model.base
        adapter_dir = _adapter_dir(base)
        if adapter_dir is not None:
            base = _adapter_base(adapter_dir)
        kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attn_implementation(config)}
        if config.model.load_in_4bit:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=dtype,
            )
            if torch.cuda.is_available() and not config.train.use_cpu:
                # one full 4-bit copy per process, on that process's GPU (DDP; no ZeRO sharding of 4-bit weights)
                kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir) if adapter_dir and (adapter_dir / "tokenizer_config.json").is_file() else base)
            model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
        except OSError as error:
            raise DuckError(
                f"cannot load base model {base!r}: {error}",
                "give a local model directory with --base-model, or run where the Hugging Face hub is reachable",
            ) from None
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if adapter_dir is not None:
            model = _attach_adapter(model, adapter_dir, keep=config.lora is not None)
    model.config.use_cache = False  # packed / padding-free batches must not use the KV cache
    peft_config = None
    if config.lora is not None and not _is_peft(model):
        from peft import LoraConfig as PeftLoraConfig

        peft_config = PeftLoraConfig(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=list(config.lora.target_modules),
            task_type="CAUSAL_LM",
        )
    return LoadedModel(model=model, tokenizer=tokenizer, base_model=base, peft_config=peft_config)


def _adapter_dir(base: str) -> Path | None:
    path = Path(base)
    return path if (path / "adapter_config.json").is_file() else None


def _adapter_base(adapter_dir: Path) -> str:
    """The base model a LoRA adapter from duck-train (duck.json) or peft (adapter_config.json) needs."""
    from trainer.artifacts import read_duck_json

    base = read_duck_json(adapter_dir).get("base_model")
    if not base:
        base = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise DuckError(f"the adapter in {adapter_dir} does not name its base model", "add \"base_model\" to its duck.json")
    return base


def _attach_adapter(model: Any, adapter_dir: Path, *, keep: bool) -> Any:
    """Start from a LoRA checkpoint: keep training the adapter (a LoRA recipe), or merge it
    into the weights for a full fine-tune."""
    from peft import PeftModel

    if keep:
        return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)
    if getattr(model, "is_loaded_in_4bit", False):
        raise DuckError("cannot merge a LoRA adapter into 4-bit weights for a full fine-tune", "use a LoRA recipe (a config with a lora section) to continue the adapter")
    return PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()


def _is_peft(model: Any) -> bool:
    return hasattr(model, "peft_config")


def sft_config(config: RecipeConfig, output_dir: Path, *, has_eval: bool) -> Any:
    """TRL's ``SFTConfig`` for this recipe: completion-only loss, packing / padding-free,
    ``cosine_with_min_lr`` (``min_lr_rate`` works with DeepSpeed, ``min_lr`` crashes there)."""
    from trl import SFTConfig

    train, data, model = config.train, config.data, config.model
    # transformers 5 has no warmup_ratio: its warmup_steps takes a fraction below 1 instead
    warmup: float = train.warmup_ratio if train.warmup_ratio else train.warmup_steps
    scheduler_kwargs = {"min_lr_rate": train.min_lr_rate} if train.scheduler == "cosine_with_min_lr" else None
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=train.epochs,
        max_steps=train.max_steps,
        learning_rate=train.learning_rate,
        lr_scheduler_type=train.scheduler,
        lr_scheduler_kwargs=scheduler_kwargs,
        warmup_steps=warmup,
        per_device_train_batch_size=train.per_device_batch_size,
        per_device_eval_batch_size=train.per_device_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        weight_decay=train.weight_decay,
        max_grad_norm=train.max_grad_norm,
        optim=train.optim,
        bf16=train.bf16 and not train.use_cpu,
        fp16=train.fp16 and not train.use_cpu,
        use_cpu=train.use_cpu,
        deepspeed=train.deepspeed,
        seed=train.seed,
        data_seed=train.seed,
        logging_steps=train.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=train.save_total_limit,
        eval_strategy=("steps" if train.eval_steps else "epoch") if has_eval else "no",
        eval_steps=train.eval_steps if has_eval else None,
        report_to=list(train.report_to) or "none",
        **_checkpointing_arg(model.gradient_checkpointing),
        # TRL does not truncate padding-free rows unless they are packed: it wants max_length None then
        max_length=data.max_length if data.packing or not data.padding_free else None,
        packing=data.packing,
        packing_strategy="bfd",
        padding_free=data.padding_free,
        completion_only_loss=True,
        dataset_num_proc=None,
        disable_tqdm=False,
        ddp_find_unused_parameters=False,
    )


def _checkpointing_arg(enabled: bool) -> dict[str, bool]:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing."""
    from transformers import TrainingArguments

    name = "activation_checkpointing" if "activation_checkpointing" in TrainingArguments.__dataclass_fields__ else "gradient_checkpointing"
    return {name: enabled}


def has_checkpoint(output_dir: Path) -> bool:
    return any(p.is_dir() and p.name.startswith("checkpoint-") for p in output_dir.glob("checkpoint-*"))


def check_output_dir(output_dir: Path, resume: bool) -> None:
    """Refuse to train over an earlier run unless asked to resume it."""
    if resume and not has_checkpoint(output_dir):
        raise DuckError(f"--resume given but {output_dir} holds no checkpoint-* folder", "drop --resume to start a new run")
    if not resume and has_checkpoint(output_dir):
        raise DuckError(f"{output_dir} already holds checkpoints from an earlier run", "pass --resume to continue it, or choose another --output-dir")


def texts_for_tokenizer(examples: Sequence[Example]) -> list[str]:
    return [e.prompt + e.completion for e in examples]


def save_run(trainer: Any, config: RecipeConfig, loaded: LoadedModel, output_dir: Path) -> None:
    """Save what ``duck run --model DIR`` needs, the log as JSON and the loss plot (rank 0 only)."""
    trainer.save_model(str(output_dir))  # full weights, or the adapter for a LoRA run (DeepSpeed-aware)
    if not trainer.is_world_process_zero():
        return
    loaded.tokenizer.save_pretrained(str(output_dir))
    adapter = loaded.peft_config is not None or _is_peft(loaded.model)
    write_duck_json(
        output_dir,
        prompt_format=config.model.prompt_format,
        base_model=loaded.base_model,
        adapter=adapter,
        recipe=config.name,
        extra={"load_in_4bit": config.model.load_in_4bit} if adapter else None,
    )
    history = trainer.state.log_history
    (output_dir / TRAIN_LOG).write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")
    plot_loss(history, output_dir / LOSS_PLOT, title=config.name)


def plot_loss(history: Sequence[dict], path: Path, title: str) -> Path | None:
    """Training (and eval) loss and the learning rate per step as a PNG; None without data."""
    train = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    if not train:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    rates = [(h["step"], h["learning_rate"]) for h in history if "learning_rate" in h]
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(*zip(*train), label="train loss")
    if evals:
        axis.plot(*zip(*evals), "o-", label="held-out loss")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss")
    axis.set_title(title)
    handles = axis.get_lines()
    if rates:
        lr_axis = axis.twinx()
        handles += lr_axis.plot(*zip(*rates), color="tab:gray", linestyle=":", label="learning rate")
        lr_axis.set_ylabel("learning rate")
    axis.legend(handles=handles, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
