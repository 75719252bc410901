"""``--dry-run``: the plan of a training run, computed without loading any weights.

The model is built on the meta device (``accelerate.init_empty_weights``) from the recipe's
architecture config, so the parameter counts are exact (deepseek-coder-6.7b:
6,740,512,768). Tokens come from the real data (tokenized when the tokenizer is on disk,
else estimated from characters, and said so); optimizer steps follow from the global batch
and packing; memory per GPU follows the ZeRO paper's accounting for bf16 mixed precision
with Adam (2 bytes weights + 2 bytes gradients + 12 bytes fp32 master/momentum/variance per
trained parameter, divided across processes by stage) plus activations with gradient
checkpointing. It is an estimate of the plan, not a profiler; benchmarks/ measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from duck.errors import DuckError
from trainer.config import RecipeConfig

GIB = 1024**3
#: characters per token assumed when the tokenizer is not on disk (code, BPE of 32k)
CHARS_PER_TOKEN_ESTIMATE = 3.3


@dataclass
class MemoryPlan:
    weights: float
    gradients: float
    optimizer: float
    activations: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations


@dataclass
class Plan:
    name: str
    total_params: int
    trainable_params: int
    world_size: int
    global_batch: int
    epochs: float
    learning_rate: float
    min_learning_rate: float
    scheduler: str
    #: "5 steps", "3% of steps" or "none"
    warmup: str
    max_length: int
    zero_stage: int
    offload: bool
    memory: MemoryPlan
    rows: int | None = None
    tokens: int | None = None
    tokens_exact: bool = False
    sequences_per_epoch: int | None = None
    optimizer_steps: int | None = None
    packing: bool = False
    #: optimizer steps per epoch with the global batch counted in samples (the paper's way)
    sample_steps_per_epoch: int | None = None
    rows_over_max_length: int = 0
    #: True when rows/steps come from the paper's row count (no data on disk)
    from_paper: bool = False
    tokens_per_second: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def wall_hours(self) -> float | None:
        if self.tokens is None or not self.tokens_per_second:
            return None
        return self.tokens * self.epochs / self.tokens_per_second / 3600

    def render(self) -> str:
        m = self.memory
        lines = [
            f"recipe            {self.name}",
            f"parameters        {self.total_params:,} total, {self.trainable_params:,} trainable ({100 * self.trainable_params / self.total_params:.2f}%)",
            f"schedule          {self.epochs:g} epochs, lr {self.learning_rate:g} -> {self.min_learning_rate:g} ({self.scheduler}), warmup {self.warmup}",
            f"batch             global {self.global_batch} {'packed sequences' if self.packing else 'samples'} "
            f"of up to {self.max_length} tokens on {self.world_size} process(es)"
            + ("" if self.packing else " (one sample per row, pad-free)"),
        ]
        if self.tokens is not None:
            how = "tokenized" if self.tokens_exact else f"estimated at {CHARS_PER_TOKEN_ESTIMATE} chars/token"
            lines.append(f"data              {self.rows:,} rows, {self.tokens:,} tokens per epoch ({how})")
        elif self.from_paper:
            lines.append(f"data              (not on disk) the paper's data set: {self.rows:,} training samples")
        else:
            lines.append("data              (no --data given: tokens and steps not computed)")
        if self.sample_steps_per_epoch is not None:
            in_samples = f"{self.sample_steps_per_epoch:,} per epoch in samples ({self.rows:,} samples / {self.global_batch} per step)"
            if not self.packing:
                lines.append(f"optimizer steps   {in_samples}, {self.optimizer_steps:,} in all for {self.epochs:g} epochs")
            elif self.sequences_per_epoch is None:
                lines.append(f"optimizer steps   {in_samples} without packing")
                lines.append("packing           on: a step counts packs of rows, so there will be fewer steps; give --data to count them")
            else:
                steps = math.ceil(self.sequences_per_epoch / self.global_batch)
                lines.append(f"optimizer steps   {steps:,} per epoch ({self.sequences_per_epoch:,} packed sequences / "
                             f"{self.global_batch} per step), {self.optimizer_steps:,} in all for {self.epochs:g} epochs")
                lines.append(f"packing           on: {self.rows:,} rows pack into {self.sequences_per_epoch:,} sequences "
                             f"({self.rows / max(self.sequences_per_epoch, 1):.1f} rows each); the paper's batch in samples "
                             f"takes {in_samples}, {self.sample_steps_per_epoch / steps:.1f}x as many (drop --packing for it)")
        if self.rows_over_max_length and not self.packing:
            lines.append(f"note              {self.rows_over_max_length:,} rows are longer than {self.max_length} tokens; "
                         "pad-free batching without packing does not truncate them (the released trainer cuts them)")
        stage = f"ZeRO-{self.zero_stage}" if self.zero_stage else "no ZeRO (DDP / single process)"
        lines += [
            f"memory per GPU    {m.total / GIB:.1f} GiB with {stage}{' + CPU offload' if self.offload else ''}:",
            f"                    weights {m.weights / GIB:.1f} GiB, gradients {m.gradients / GIB:.1f} GiB, "
            f"optimizer {m.optimizer / GIB:.1f} GiB, activations {m.activations / GIB:.1f} GiB",
        ]
        if self.wall_hours is not None:
            hours = self.wall_hours
            took = f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.1f} min" if hours * 60 >= 1 else f"{hours * 3600:.0f} s"
            lines.append(f"wall time         {took} for {self.epochs:g} epochs at {self.tokens_per_second:,.0f} tokens/s in total (stated)")
        elif self.tokens is not None:
            lines.append("wall time         (pass --tokens-per-second for an estimate)")
        lines += [f"note              {n}" for n in self.notes]
        return "\n".join(lines)


def meta_model(config: RecipeConfig) -> Any:
    """The recipe's model on the meta device (no memory, exact shapes)."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    arch = config.architecture_path()
    if config.model.base == "tiny":
        from trainer.tiny import tiny_llama_config

        tiny = config.tiny
        assert tiny is not None
        model_config = tiny_llama_config(tiny.vocab_size, layers=tiny.layers, hidden=tiny.hidden, heads=tiny.heads)
    else:
        source = str(arch) if arch is not None else config.model.base
        try:
            model_config = AutoConfig.from_pretrained(source)
        except OSError as error:
            raise DuckError(f"cannot read the architecture of {source!r}: {error}", "set model.architecture to a config.json, or give a local --base-model") from None
    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(model_config)
    if config.lora is not None:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(
            model,
            LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, target_modules=list(config.lora.target_modules), task_type="CAUSAL_LM"),
        )
    return model


def count_parameters(model: Any) -> tuple[int, int]:
    """(total, trainable); for a LoRA model the total includes the adapter."""
    total = trainable = 0
    for parameter in model.parameters():
        total += parameter.numel()
        if parameter.requires_grad:
            trainable += parameter.numel()
    return total, trainable


def memory_plan(config: RecipeConfig, model: Any, total: int, trainable: int, world: int) -> MemoryPlan:
    """Bytes per GPU for weights, gradients, optimizer states and activations."""
    stage, offload = config.launch.zero_stage, config.launch.offload
    if config.model.load_in_4bit:
        frozen = total - trainable
        # NF4: 4 bits per weight + double-quantised absmax constants (~0.127 bits), embeddings in bf16
        embed = _embedding_params(model)
        weights = (frozen - embed) * (4.127 / 8) + embed * 2 + trainable * 2
    else:
        weights = total * 2.0
    gradients = trainable * 2.0
    optimizer = trainable * 12.0
    if config.train.optim.endswith("8bit"):
        optimizer = trainable * (4.0 + 2.0)  # fp32 master + two 1-byte moments
    if stage >= 1:
        optimizer /= world
    if stage >= 2:
        gradients /= world
    if stage >= 3:
        weights /= world
    if offload:
        optimizer = 0.0
        if stage >= 3:
            weights = 0.0
    return MemoryPlan(weights, gradients, optimizer, activation_bytes(config, model))


def activation_bytes(config: RecipeConfig, model: Any) -> float:
    """Activations of one micro-batch (Korthikanti et al., flash attention: no s^2 term)."""
    text = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    hidden, layers, vocab = text.hidden_size, text.num_hidden_layers, text.vocab_size
    tokens = config.train.per_device_batch_size * config.data.max_length
    per_layer = 34 * tokens * hidden  # bytes for one transformer layer in 16-bit
    logits = tokens * vocab * (2 + 4 + 4)  # bf16 logits, fp32 upcast and its gradient
    if config.model.gradient_checkpointing:
        return layers * tokens * hidden * 2 + per_layer + logits
    return layers * per_layer + logits


def _embedding_params(model: Any) -> int:
    count = 0
    for name, parameter in model.named_parameters():
        if "embed_tokens" in name or "lm_head" in name:
            count += parameter.numel()
    return count


def count_tokens(config: RecipeConfig, data_paths: Sequence[Path]) -> tuple[int, list[int], bool]:
    """(rows, tokens per row incl. EOS, exact?) of the rows the config's recipe trains on"""
    from trainer.data import load_examples

    examples = load_examples(data_paths, tasks=config.tasks)
    texts = [e.prompt + e.completion for e in examples]
    tokenizer = _local_tokenizer(config, texts)
    if tokenizer is None:
        lengths = [math.ceil(len(t) / CHARS_PER_TOKEN_ESTIMATE) + 1 for t in texts]
        exact = False
    else:
        lengths = [len(ids) + 1 for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]
        exact = True
    return len(examples), lengths, exact


def _local_tokenizer(config: RecipeConfig, texts: list[str]) -> Any:
    if config.model.base == "tiny":
        from trainer.tiny import train_tokenizer

        assert config.tiny is not None
        return train_tokenizer(texts, vocab_size=config.tiny.vocab_size)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(config.model.base, local_files_only=True)
    except (OSError, ValueError):
        return None


def make_plan(
    config: RecipeConfig,
    data_paths: Sequence[Path],
    *,
    world_size: int | None = None,
    tokens_per_second: float | None = None,
) -> Plan:
    model = meta_model(config)
    total, trainable = count_parameters(model)
    world = world_size or config.train.num_processes
    global_batch = config.train.per_device_batch_size * config.train.gradient_accumulation_steps * world
    plan = Plan(
        name=config.name,
        total_params=total,
        trainable_params=trainable,
        world_size=world,
        global_batch=global_batch,
        epochs=config.train.epochs,
        learning_rate=config.train.learning_rate,
        min_learning_rate=config.train.learning_rate * (config.train.min_lr_rate if config.train.scheduler == "cosine_with_min_lr" else 0.0),
        scheduler=config.train.scheduler,
        warmup=(f"{config.train.warmup_ratio:.0%} of steps" if config.train.warmup_ratio
                else f"{config.train.warmup_steps} steps" if config.train.warmup_steps else "none"),
        max_length=config.data.max_length,
        zero_stage=config.launch.zero_stage,
        offload=config.launch.offload,
        memory=memory_plan(config, model, total, trainable, world),
        tokens_per_second=tokens_per_second,
        packing=config.data.packing,
    )
    if config.lora is not None and config.model.load_in_4bit:
        plan.notes.append("4-bit NF4 base with double quantisation; only the LoRA adapter is trained")
    if data_paths:
        rows, lengths, exact = count_tokens(config, data_paths)
        train_rows = _train_rows(rows, config.data.held_out)
        lengths = lengths[:train_rows]
        plan.rows_over_max_length = sum(n > config.data.max_length for n in lengths)
        lengths = [min(n, config.data.max_length) for n in lengths]
        plan.rows, plan.tokens, plan.tokens_exact = train_rows, sum(lengths), exact
        plan.sequences_per_epoch = _packed_sequences(lengths, config.data.max_length) if config.data.packing else len(lengths)
    elif config.data.paper_rows:
        plan.rows, plan.from_paper = _train_rows(config.data.paper_rows, config.data.held_out), True
        plan.sequences_per_epoch = None if config.data.packing else plan.rows  # packs need the data's lengths
    if plan.rows is not None:
        plan.sample_steps_per_epoch = max(1, math.ceil(plan.rows / global_batch))
        sequences = plan.sequences_per_epoch if plan.sequences_per_epoch is not None else plan.rows
        plan.optimizer_steps = math.ceil(max(1, math.ceil(sequences / global_batch)) * config.train.epochs)
        if config.train.max_steps > 0:
            plan.optimizer_steps = config.train.max_steps
    return plan


def _train_rows(rows: int, held_out: float) -> int:
    """Rows left for training once ``held_out`` of them are set aside (``trainer.data.split_held_out``)."""
    return rows - (max(1, round(rows * held_out)) if held_out else 0)


def _packed_sequences(lengths: list[int], max_length: int) -> int:
    """Bins of best-fit-decreasing packing, the way TRL's "bfd" strategy packs rows."""
    import bisect

    free: list[int] = []
    bins = 0
    for length in sorted(lengths, reverse=True):
        i = bisect.bisect_left(free, length)
        if i < len(free):
            remaining = free.pop(i) - length
        else:
            bins += 1
            remaining = max_length - length
        if remaining > 0:
            bisect.insort(free, remaining)
    return bins
