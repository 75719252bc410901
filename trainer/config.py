"""Training recipe configs: one YAML file per recipe under ``trainer/configs/``, parsed into
dataclasses.

A config says *what* to train (base model, LoRA, data, schedule, batch, launch settings);
the recipe modules in ``trainer/recipes/`` say *how*. YAML is read with ``yaml.safe_load``
(no code runs from a config) and every key is checked, so a typo is an error with a hint,
not a silently ignored setting. This module does not import torch or transformers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

import yaml

from duck.errors import DuckError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
LAUNCH_DIR = Path(__file__).resolve().parent / "launch"


@dataclass
class ModelConfig:
    #: hub id or local directory of the model to start from; "tiny" builds a 2-layer LLaMA
    base: str
    #: a config.json describing the base architecture (for ``--dry-run`` without downloads);
    #: relative paths are resolved against ``trainer/configs/``
    architecture: str | None = None
    prompt_format: str = "semcoder"
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    #: "flash_attention_2" is used only when the package is importable, else this fallback
    attn_implementation: str = "sdpa"
    flash_attention: bool = True
    gradient_checkpointing: bool = True
    load_in_4bit: bool = False


@dataclass
class LoraConfig:
    r: int = 64
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class TinyConfig:
    """The ``tiny`` recipe's model: built from scratch, tokenizer trained on the training data."""

    layers: int = 2
    hidden: int = 64
    heads: int = 4
    vocab_size: int = 4096


@dataclass
class DataConfig:
    #: ``duck-train corpus`` output folders or JSONL files; ``--data`` replaces them
    paths: list[str] = field(default_factory=list)
    max_length: int = 2048
    #: fraction of rows held out for evaluation (0 = none)
    held_out: float = 0.0
    #: packing (TRL "bfd") is padding-free too, but then a batch counts packs of rows, not
    #: rows (fewer optimizer steps than the paper's batch of samples); padding_free without
    #: packing flattens the batch's rows as they are (one sample per row, like the released
    #: padded trainer) without truncating them to max_length
    packing: bool = False
    padding_free: bool = True
    #: rows the paper trained on, for ``--dry-run`` when the data is not on disk
    paper_rows: int | None = None


@dataclass
class TrainConfig:
    epochs: float = 2.0
    learning_rate: float = 5e-5
    scheduler: str = "cosine_with_min_lr"
    #: the cosine ends at learning_rate * min_lr_rate (5e-5 * 0.1 = 5e-6)
    min_lr_rate: float = 0.1
    #: an int is a number of steps, a float in (0, 1) a fraction of all steps
    warmup_steps: float = 0
    per_device_batch_size: int = 8
    gradient_accumulation_steps: int = 8
    #: the number of processes the global batch is planned for (the paper: 8 GPUs)
    num_processes: int = 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    bf16: bool = True
    #: fp16 mixed precision (the released refine script's; use it where bf16 is missing)
    fp16: bool = False
    seed: int = 42
    max_steps: int = -1
    logging_steps: int = 1
    save_steps: int = 500
    #: evaluate the held-out rows every N optimizer steps (None: once per epoch)
    eval_steps: int | None = None
    save_total_limit: int = 2
    report_to: list[str] = field(default_factory=list)
    #: run on CPU (the tiny recipe and tests)
    use_cpu: bool = False
    #: a DeepSpeed JSON handed to the Trainer (set by --deepspeed; accelerate configs carry their own)
    deepspeed: str | None = None

    @property
    def global_batch_size(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps * self.num_processes


@dataclass
class LaunchConfig:
    #: accelerate config under ``trainer/launch/`` (name or path) used for multi-process runs
    accelerate_config: str | None = None
    #: DeepSpeed ZeRO stage the memory plan assumes (0 = plain DDP)
    zero_stage: int = 0
    #: optimizer states (and for stage 3 parameters) offloaded to CPU memory
    offload: bool = False


@dataclass
class RecipeConfig:
    name: str
    recipe: Literal["semcoder", "refine"]
    description: str
    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    launch: LaunchConfig = field(default_factory=LaunchConfig)
    lora: LoraConfig | None = None
    tiny: TinyConfig | None = None
    #: where the YAML came from (set by ``load_config``)
    source: str = ""

    def architecture_path(self) -> Path | None:
        if not self.model.architecture:
            return None
        path = Path(self.model.architecture)
        return path if path.is_absolute() else CONFIG_DIR / path


def available_configs() -> list[str]:
    """Names of the shipped configs (file stems under ``trainer/configs/``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def resolve_config_path(name_or_path: str) -> Path:
    """A shipped config name (``semcoder-6.7b``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise DuckError(f"config file {path} does not exist", "give a YAML path or one of: " + ", ".join(available_configs()))
        return path
    shipped = CONFIG_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise DuckError(f"unknown config {name_or_path!r}", "shipped configs: " + ", ".join(available_configs()))
    return shipped


def load_config(name_or_path: str) -> RecipeConfig:
    """Read and check one recipe config."""
    path = resolve_config_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DuckError(f"{path} is not valid YAML: {error}", "fix the file's syntax") from None
    if not isinstance(raw, dict):
        raise DuckError(f"{path} must hold a mapping of settings", "see trainer/configs/tiny.yaml for the layout")
    config = _build(RecipeConfig, {**raw, "source": str(path)}, where=str(path))
    _check(config, path)
    return config


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise DuckError(f"{where}: expected a mapping for {cls.__name__}, got {type(raw).__name__}", "check the indentation")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise DuckError(f"{where}: unknown setting(s) {', '.join(unknown)}", f"allowed here: {', '.join(sorted(names))}")
    values = {}
    for key, value in raw.items():
        kind = hints[key]
        nested = _dataclass_in(kind)
        if nested is not None and value is not None:
            values[key] = _build(nested, value, f"{where}: {key}")
        else:
            values[key] = _coerce(kind, value, f"{where}: {key}")
    try:
        return cls(**values)
    except TypeError as error:
        raise DuckError(f"{where}: {error}", f"required settings of {cls.__name__} are missing") from None


def _dataclass_in(kind: Any) -> type | None:
    for candidate in (kind, *get_args(kind)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _coerce(kind: Any, value: Any, where: str) -> Any:
    """Check scalars against the annotation; YAML reads 5e-5 as a string, so floats are parsed."""
    if kind is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            raise DuckError(f"{where}: {value!r} is not a number", None) from None
    if kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
        raise DuckError(f"{where}: {value!r} is not an integer", None)
    if kind is bool and not isinstance(value, bool):
        raise DuckError(f"{where}: {value!r} is not true/false", None)
    choices = get_args(kind) if getattr(kind, "__origin__", None) is Literal else ()
    if choices and value not in choices:
        raise DuckError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}", None)
    return value


def _check(config: RecipeConfig, path: Path) -> None:
    if config.lora is None and config.model.load_in_4bit:
        raise DuckError(f"{path}: load_in_4bit needs a lora section (4-bit weights cannot be trained directly)", "add `lora:` or set load_in_4bit: false")
    if config.model.base == "tiny" and config.tiny is None:
        config.tiny = TinyConfig()
    if not 0 <= config.data.held_out < 1:
        raise DuckError(f"{path}: data.held_out must be in [0, 1)", None)
    if config.train.bf16 and config.train.fp16:
        raise DuckError(f"{path}: train.bf16 and train.fp16 are both true", "choose one precision")
    if config.launch.zero_stage not in (0, 1, 2, 3):
        raise DuckError(f"{path}: launch.zero_stage must be 0, 1, 2 or 3", None)
    arch = config.architecture_path()
    if arch is not None and not arch.is_file():
        raise DuckError(f"{path}: architecture file {arch} does not exist", None)
