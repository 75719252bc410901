"""Training recipe configs: one YAML file per recipe under ``trainer/configs/``, parsed into
dataclasses.

A config says *what* to train (base model, LoRA, data, schedule, batch, launch settings)
and with ``recipe:`` which recipe trains it; the recipe modules in ``trainer/recipes/`` say
*how*. YAML is read with ``yaml.safe_load`` (no code runs from a config) and every key is
checked, so a typo is an error with a hint, not a silently ignored setting.

Any setting can be overridden from the command line as a dotted key, torchtune-style
(``train.learning_rate=1e-5 data.max_length=1024``): ``parse_overrides`` checks each key and
value against the same dataclasses before any work, ``load_config`` applies them, and
``save_config`` writes the resolved config (what a run really used, and what its launched
processes read). This module does not import torch or transformers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import re
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from duck.errors import DuckError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
LAUNCH_DIR = Path(__file__).resolve().parent / "launch"

Recipe = Literal["semcoder", "refine"]
#: the rows each recipe trains on (``models.prompts`` task names); the one definition the
#: commands, the recipes and ``--dry-run`` read
RECIPE_TASKS: dict[str, frozenset[str]] = {
    "semcoder": frozenset({"nl", "forward", "backward"}),  # PyX
    "refine": frozenset({"refine"}),  # PyX-R
}
assert set(RECIPE_TASKS) == set(get_args(Recipe))


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
    #: linear warm-up over this many optimizer steps (a whole number)
    warmup_steps: int = field(default=0, metadata={"hint": "warmup_steps counts steps; a fraction of all steps is warmup_ratio, e.g. train.warmup_ratio=0.03"})
    #: or over this fraction of all optimizer steps, in [0, 1) (HF's old ``warmup_ratio``);
    #: at most one of the two is set
    warmup_ratio: float = 0.0
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
    #: which recipe trains this config: ``duck-train <recipe>`` refuses any other
    recipe: Recipe
    description: str
    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    launch: LaunchConfig = field(default_factory=LaunchConfig)
    lora: LoraConfig | None = None
    tiny: TinyConfig | None = None
    #: where the YAML came from (set by ``load_config``; not a setting)
    source: str = ""

    @property
    def tasks(self) -> frozenset[str]:
        """The row tasks this config's recipe trains on."""
        return RECIPE_TASKS[self.recipe]

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


#: the resolved config a run saves in its output folder (and its launched processes read)
RESOLVED_CONFIG = "duck-train.yaml"

#: a dotted setting and its value, already checked against the dataclasses
Override = tuple[str, Any]

_KEY = r"[A-Za-z_][A-Za-z0-9_]*"


def load_config(name_or_path: str, overrides: Sequence[Override] = ()) -> RecipeConfig:
    """Read and check one recipe config, with ``overrides`` (from ``parse_overrides`` or the
    command's flags) applied in order, a later one winning."""
    path = resolve_config_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DuckError(f"{path} is not valid YAML: {error}", "fix the file's syntax") from None
    if not isinstance(raw, dict):
        raise DuckError(f"{path} must hold a mapping of settings", "see trainer/configs/tiny.yaml for the layout")
    for key, value in overrides:
        setting_type(key)  # programmer's overrides are checked too
        _assign(raw, key, value)
    config = _build(RecipeConfig, {**raw, "source": str(path)}, where=str(path))
    _check(config, path, {key for key, _ in overrides})
    return config


def parse_overrides(texts: Sequence[str], synonyms: dict[str, str] | None = None) -> list[Override]:
    """``KEY=VALUE`` texts as overrides, each key checked against the config's dataclasses and
    each value parsed for that key's type (YAML syntax: ``1e-5``, ``true``, ``null``,
    ``[a, b]``; a list also takes ``a,b``). ``synonyms`` (a flag's name -> its key) only
    improve the hint for an unknown key."""
    overrides = []
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not is_override_key(key):
            raise DuckError(f"{text!r} is not a KEY=VALUE override",
                            "give dotted config keys with values, e.g. train.learning_rate=1e-5 data.max_length=1024")
        overrides.append((key, parse_value(key, value, synonyms)))
    return overrides


def is_override_key(key: str) -> bool:
    """Whether ``key`` has the shape of a dotted key (not whether the config has it)."""
    return re.fullmatch(rf"{_KEY}(\.{_KEY})*", key) is not None


def setting_type(key: str, synonyms: dict[str, str] | None = None) -> Any:
    """The annotation of the setting a dotted key names; an unknown key is a ``DuckError``
    whose hint names the closest keys."""
    cls: type = RecipeConfig
    parts = key.split(".")
    for depth, part in enumerate(parts):
        hints = get_type_hints(cls)
        if part not in hints or part == "source":
            raise DuckError(f"unknown setting {key!r}", _unknown_hint(key, ".".join(parts[:depth]), synonyms))
        kind = hints[part]
        if depth == len(parts) - 1:
            return kind
        nested = _dataclass_in(kind)
        if nested is None:
            raise DuckError(f"unknown setting {key!r}: {'.'.join(parts[:depth + 1])} is a value, not a section",
                            f"set it as {'.'.join(parts[:depth + 1])}=VALUE")
        cls = nested
    raise AssertionError("unreachable")


def setting_keys(cls: type = RecipeConfig, prefix: str = "") -> list[str]:
    """Every dotted key a config has (sections expanded), in declaration order."""
    keys = []
    hints = get_type_hints(cls)
    for item in dataclasses.fields(cls):
        if item.name == "source":
            continue
        nested = _dataclass_in(hints[item.name])
        if nested is None:
            keys.append(prefix + item.name)
        else:
            keys += setting_keys(nested, f"{prefix}{item.name}.")
    return keys


def _unknown_hint(key: str, section: str, synonyms: dict[str, str] | None) -> str:
    keys = setting_keys()
    leaf = key.rsplit(".", 1)[-1]
    guesses = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    guesses += [k for k in keys if difflib.SequenceMatcher(None, leaf, k.rsplit(".", 1)[-1]).ratio() >= 0.75]
    if synonyms and leaf.replace("-", "_") in synonyms:
        guesses.insert(0, synonyms[leaf.replace("-", "_")])
    guesses = list(dict.fromkeys(guesses))[:3]
    if guesses:
        return "did you mean " + " or ".join(guesses) + "?"
    if section:
        return f"settings under {section}: " + ", ".join(k[len(section) + 1:] for k in keys if k.startswith(section + "."))
    return "top-level settings: " + ", ".join(dict.fromkeys(k.split(".")[0] for k in keys))


def parse_value(key: str, text: str, synonyms: dict[str, str] | None = None) -> Any:
    """The value of ``KEY=text`` for that key's type, checked (a section takes a YAML mapping)."""
    kind = setting_type(key, synonyms)
    where = f"{key}={text}"
    base = _without_none(kind)
    if base is str:  # text as given: a model id or a path must not turn into a number
        return None if _allows_none(kind) and text.strip() in ("null", "~", "") else text
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise DuckError(f"{where}: cannot read the value", f"{_describe(kind)}, in YAML syntax") from None
    nested = _dataclass_in(kind)
    if nested is not None:
        if value is not None:
            _build(nested, value, where)  # checked now, applied as the mapping it is
            return value
        return _coerce(kind, value, where)
    if get_origin(base) is list and isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif get_origin(base) is list and value is None and not text.strip():
        value = []
    section, _, name = key.rpartition(".")
    with _field_hint(_dataclass_in(setting_type(section)) if section else RecipeConfig, name):
        return _coerce(kind, value, where)


def _assign(raw: dict, key: str, value: Any) -> None:
    *sections, leaf = key.split(".")
    node = raw
    for part in sections:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


def config_dict(config: RecipeConfig) -> dict[str, Any]:
    """The settings of ``config`` as plain YAML-ready data (without ``source``)."""
    data = dataclasses.asdict(config)
    data.pop("source")
    return data


def flat_settings(config: RecipeConfig) -> dict[str, Any]:
    """``{dotted key: value}`` of every setting (a section left out is ``{section: None}``)."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, f"{prefix}{name}.")
        else:
            flat[prefix[:-1]] = node

    walk(config_dict(config), "")
    return flat


def save_config(config: RecipeConfig, path: Path, *, comments: Sequence[str] = ()) -> Path:
    """Write ``config`` as a YAML config that ``load_config`` reads back to the same settings."""
    text = "".join(f"# {line}\n" for line in comments)
    text += yaml.safe_dump(config_dict(config), sort_keys=False, default_flow_style=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise DuckError(f"{where}: expected a mapping for {cls.__name__}, got {type(raw).__name__}", "check the indentation")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise DuckError(f"{where}: unknown setting(s) {', '.join(unknown)}", f"allowed here: {', '.join(sorted(names - {'source'}))}")
    values = {}
    for key, value in raw.items():
        kind = hints[key]
        nested = _dataclass_in(kind)
        if nested is not None and value is not None:
            values[key] = _build(nested, value, f"{where}: {key}")
        else:
            with _field_hint(cls, key):
                values[key] = _coerce(kind, value, f"{where}: {key}")
    try:
        return cls(**values)
    except TypeError as error:
        raise DuckError(f"{where}: {error}", f"required settings of {cls.__name__} are missing") from None


@contextlib.contextmanager
def _field_hint(cls: type, name: str) -> Iterator[None]:
    """A field's own hint (``metadata={"hint": ...}``) replaces the generic one of a bad value."""
    try:
        yield
    except DuckError as error:
        hint = next((f.metadata.get("hint") for f in dataclasses.fields(cls) if f.name == name), None)
        if hint:
            error.hint = hint
        raise


def _dataclass_in(kind: Any) -> type | None:
    for candidate in (kind, *get_args(kind)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _allows_none(kind: Any) -> bool:
    return get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind)


def _without_none(kind: Any) -> Any:
    if not _allows_none(kind):
        return kind
    rest = [arg for arg in get_args(kind) if arg is not type(None)]
    return rest[0] if len(rest) == 1 else kind


def _describe(kind: Any) -> str:
    base = _without_none(kind)
    text = {float: "a number", int: "a whole number", bool: "true or false", str: "text"}.get(base)
    if get_origin(base) is Literal:
        text = "one of " + ", ".join(map(str, get_args(base)))
    elif get_origin(base) is list:
        text = "a list, e.g. [a, b]"
    elif dataclasses.is_dataclass(base):
        text = "a mapping of its settings"
    text = text or str(base)
    return f"give {text}" + (" (or null)" if _allows_none(kind) else "")


def _coerce(kind: Any, value: Any, where: str) -> Any:
    """Check a value against its annotation; YAML reads 5e-5 as a string, so floats are parsed."""
    import math

    if value is None:
        if _allows_none(kind):
            return None
        raise DuckError(f"{where}: a value is required", _describe(kind))
    base = _without_none(kind)
    if base is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise DuckError(f"{where}: {value!r} is not a finite number", _describe(kind))
        return number
    problem = None
    if base is float:
        problem = "is not a number"
    elif base is int and not (isinstance(value, int) and not isinstance(value, bool)):
        problem = "is not a whole number"
    elif base is bool and not isinstance(value, bool):
        problem = "is not true/false"
    elif base is str and not isinstance(value, str):
        problem = "is not text"
    elif get_origin(base) is list:
        if not isinstance(value, list):
            problem = "is not a list"
        else:
            return [_coerce(get_args(base)[0], item, where) for item in value]
    elif get_origin(base) is Literal and value not in get_args(base):
        problem = f"is not one of {', '.join(map(str, get_args(base)))}"
    if problem:
        raise DuckError(f"{where}: {value!r} {problem}", _describe(kind))
    return value


#: lower bounds of numeric settings: key -> (bound, whether the bound itself is allowed)
_LOWER_BOUNDS: dict[str, tuple[float, bool]] = {
    "data.max_length": (1, True), "data.held_out": (0, True),
    "train.epochs": (0, False), "train.learning_rate": (0, False), "train.min_lr_rate": (0, True),
    "train.warmup_steps": (0, True), "train.warmup_ratio": (0, True),
    "train.per_device_batch_size": (1, True), "train.gradient_accumulation_steps": (1, True),
    "train.num_processes": (1, True), "train.weight_decay": (0, True), "train.max_grad_norm": (0, True),
    "train.seed": (0, True), "train.logging_steps": (1, True), "train.save_steps": (1, True),
    "train.eval_steps": (1, True), "train.save_total_limit": (1, True),
    "launch.zero_stage": (0, True), "lora.r": (1, True), "lora.dropout": (0, True),
}
#: upper bounds (never allowed themselves)
_UPPER_BOUNDS: dict[str, float] = {"data.held_out": 1, "train.warmup_ratio": 1, "train.min_lr_rate": 1.000001,
                                   "train.seed": 2**32, "launch.zero_stage": 4, "lora.dropout": 1}


def _check(config: RecipeConfig, path: Path, overridden: set[str] = frozenset()) -> None:
    """Bounds and combinations of settings; an error names the file, or the command line
    when an override set one of the keys it is about."""

    def where(*keys: str) -> str:
        touched = [key for key in keys if key in overridden or key.split(".")[0] in overridden]
        return f"{path} with {', '.join(touched)} from the command line" if touched else str(path)

    if config.lora is None and config.model.load_in_4bit:
        raise DuckError(f"{where('model.load_in_4bit', 'lora')}: load_in_4bit needs a lora section (4-bit weights cannot be trained directly)", "add `lora:` or set load_in_4bit: false")
    if config.model.base == "tiny" and config.tiny is None:
        config.tiny = TinyConfig()
    settings = flat_settings(config)
    for key, (low, inclusive) in _LOWER_BOUNDS.items():
        value = settings.get(key)
        if value is None:
            continue
        high = _UPPER_BOUNDS.get(key)
        if value < low or (value == low and not inclusive) or (high is not None and value >= high):
            span = f"{'at least' if inclusive else 'above'} {low:g}" + (f" and below {high:g}" if high is not None else "")
            raise DuckError(f"{where(key)}: {key} is {value:g}, it must be {span}", f"set {key} to a value {span}")
    if config.train.max_steps == 0 or config.train.max_steps < -1:
        raise DuckError(f"{where('train.max_steps')}: train.max_steps is {config.train.max_steps}", "give a number of steps of at least 1, or -1 for the epochs")
    if config.train.warmup_steps and config.train.warmup_ratio:
        raise DuckError(f"{where('train.warmup_steps', 'train.warmup_ratio')}: train.warmup_steps and train.warmup_ratio are both set",
                        "warm up over a number of steps (warmup_steps) or a fraction of all steps (warmup_ratio), not both")
    if config.train.bf16 and config.train.fp16:
        raise DuckError(f"{where('train.bf16', 'train.fp16')}: train.bf16 and train.fp16 are both true", "choose one precision")
    arch = config.architecture_path()
    if arch is not None and not arch.is_file():
        raise DuckError(f"{where('model.architecture', 'model.base')}: architecture file {arch} does not exist", "set model.architecture to a config.json, or null")
