"""What ``duck-train semcoder`` and ``duck-train refine`` share: their flags, the config they
resolve, ``--dry-run``, and handing multi-process runs to a launcher.

The config a run uses is resolved once: the YAML named by ``--config``, then the convenience
flags (each an alias of dotted config keys, all in the one table ``CONFIG_FLAGS``), then the
``KEY=VALUE`` overrides in the order given, every key and value checked against the config
dataclasses before any work. The config's ``recipe:`` must be the subcommand's. A training
run saves the resolved config as ``duck-train.yaml`` in its output folder.

Single-process runs call the recipe in this process. With ``--num-processes N > 1`` or a
``--launch-config``, the launched processes read that saved file (``--config
OUTPUT/duck-train.yaml``), so what they train with is what the parent resolved, never a
command line rebuilt from flags. The launcher is ``accelerate launch`` with the config's (or
``--launch-config``'s) accelerate config from ``trainer/launch/`` (DeepSpeed ZeRO-3, ZeRO-3 +
offload, ZeRO-2, plain DDP) or the user's own on GPUs, and ``torchrun`` (gloo, ``use_cpu``) on
CPU, where accelerate would need MPI. ``--deepspeed JSON`` hands a DeepSpeed config to the
Trainer itself (ZeRO on CPU under torchrun). There is no home-made distributed code. Nothing
here imports torch at import time.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from duck.cli_types import Parser, number, output_folder, seed, whole_number
from duck.errors import DuckError
from trainer.config import (LAUNCH_DIR, RESOLVED_CONFIG, Override, RecipeConfig, flat_settings, is_override_key,
                            load_config, parse_overrides, save_config, setting_keys)

#: set in the environment of processes started by ``accelerate launch`` / ``torchrun`` from duck-train
LAUNCHED_ENV = "DUCK_TRAIN_LAUNCHED"
#: what a dry run imports (the model on the meta device), and what training imports besides
PLAN_PACKAGES = ("torch", "transformers", "accelerate", "peft")
TRAIN_PACKAGES = PLAN_PACKAGES + ("trl", "datasets")


@dataclass(frozen=True)
class ConfigFlag:
    """A convenience flag: an alias of one or more dotted config keys."""

    flag: str
    #: the dotted key(s) it sets, as ``--help`` shows them
    keys: str
    #: argparse keywords of the flag
    options: dict[str, Any] = field(default_factory=dict)
    #: the flag's value -> the overrides it stands for (default: ``[(keys, value)]``)
    settings: Callable[[Any], list[Override]] | None = None
    #: "config", "packing" (one of --packing / --no-packing) or "running"
    group: str = "config"

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def overrides(self, value: Any) -> list[Override]:
        if value is None or value is False:
            return []
        return self.settings(value) if self.settings else [(self.keys, value)]


def _cpu(_: bool) -> list[Override]:
    return [("train.use_cpu", True), ("train.bf16", False), ("train.fp16", False),
            ("model.dtype", "float32"), ("model.flash_attention", False)]


def _deepspeed(name: str) -> list[Override]:
    path = resolve_deepspeed_config(name)
    zero = json.loads(path.read_text(encoding="utf-8")).get("zero_optimization", {})
    offload = str(zero.get("offload_optimizer", {}).get("device", "none")) != "none"
    return [("train.deepspeed", str(path)), ("launch.zero_stage", int(zero.get("stage", 0))), ("launch.offload", offload)]


def _launch_config(name: str) -> list[Override]:
    """The accelerate config, and the ZeRO stage and offload it really uses (so the dry-run
    plans the memory of the chosen launch)."""
    path = resolve_launch_config(name).resolve()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    deepspeed = (data.get("deepspeed_config") or {}) if data.get("distributed_type") == "DEEPSPEED" else {}
    offload = str(deepspeed.get("offload_optimizer_device", "none")) != "none"
    return [("launch.accelerate_config", str(path)), ("launch.zero_stage", int(deepspeed.get("zero_stage", 0))), ("launch.offload", offload)]


#: every convenience flag and the config keys it stands for: the one table (``configure``
#: adds them, ``flag_overrides`` turns them into overrides, ``--help`` lists the keys)
CONFIG_FLAGS: tuple[ConfigFlag, ...] = (
    ConfigFlag("--data", "data.paths", dict(nargs="+", type=Path, metavar="PATH",
                                            help="`duck-train corpus` output folders or JSONL files"),
               lambda paths: [("data.paths", [str(p) for p in paths])]),
    ConfigFlag("--base-model", "model.base, model.architecture=null", dict(metavar="NAME|DIR", help="start from this model"),
               lambda base: [("model.base", base), ("model.architecture", None)]),
    ConfigFlag("--max-steps", "train.max_steps", dict(type=whole_number(1), help="stop after N optimizer steps")),
    ConfigFlag("--epochs", "train.epochs", dict(type=number(0))),
    ConfigFlag("--lr", "train.learning_rate", dict(type=number(0, hint="give a learning rate above 0, e.g. --lr 5e-5 (the SemCoder recipe's peak)"),
                                                   help="peak learning rate")),
    ConfigFlag("--batch-size", "train.per_device_batch_size", dict(type=whole_number(1), help="sequences per device per micro-batch")),
    ConfigFlag("--grad-accum", "train.gradient_accumulation_steps", dict(type=whole_number(1))),
    ConfigFlag("--max-length", "data.max_length", dict(type=whole_number(1), help="context length in tokens")),
    ConfigFlag("--warmup-steps", "train.warmup_steps, train.warmup_ratio=0",
               dict(type=whole_number(0, hint="give a whole number of steps, e.g. --warmup-steps 5; a fraction of all steps is --warmup-ratio"),
                    help="linear warm-up over N optimizer steps"),
               lambda steps: [("train.warmup_steps", steps), ("train.warmup_ratio", 0.0)]),
    ConfigFlag("--warmup-ratio", "train.warmup_ratio, train.warmup_steps=0",
               dict(type=number(0, inclusive=True, hint="give a fraction of all steps in [0, 1), e.g. --warmup-ratio 0.03"),
                    help="linear warm-up over this fraction of all optimizer steps"),
               lambda ratio: [("train.warmup_ratio", ratio), ("train.warmup_steps", 0)]),
    ConfigFlag("--save-steps", "train.save_steps", dict(type=whole_number(1))),
    ConfigFlag("--seed", "train.seed", dict(type=seed)),
    ConfigFlag("--packing", "data.packing=true", dict(action="store_true",
               help="pack rows into max-length sequences: faster, but a batch then counts packs, not samples"),
               lambda _: [("data.packing", True)], group="packing"),
    ConfigFlag("--no-packing", "data.packing=false, data.padding_free=false",
               dict(action="store_true", help="plain padded batches, one sample per row (the released trainer's)"),
               lambda _: [("data.packing", False), ("data.padding_free", False)], group="packing"),
    ConfigFlag("--report-to", "train.report_to", dict(nargs="+", choices=["wandb", "tensorboard"], help="also log to Weights & Biases / TensorBoard")),
    ConfigFlag("--cpu", "train.use_cpu=true, train.bf16=false, train.fp16=false, model.dtype=float32, model.flash_attention=false",
               dict(action="store_true", help="train on CPU (fp32)"), _cpu),
    ConfigFlag("--num-processes", "train.num_processes (when > 1)",
               dict(type=whole_number(1), default=1, help="processes (GPUs) in all; > 1 runs through a launcher"),
               lambda n: [("train.num_processes", n)] if n > 1 else [], group="running"),
    ConfigFlag("--launch-config", "launch.accelerate_config, launch.zero_stage, launch.offload",
               dict(metavar="NAME|PATH", help="accelerate config for a multi-process run (shipped: {launch})"), _launch_config, group="running"),
    ConfigFlag("--deepspeed", "train.deepspeed, launch.zero_stage, launch.offload",
               dict(metavar="NAME|JSON", help="DeepSpeed config for the Trainer (shipped: ds-zero2, ds-zero3), e.g. for ZeRO on CPU under torchrun"),
               _deepspeed, group="running"),
)


def configure(parser: argparse.ArgumentParser, *, default_config: str) -> None:
    parser.add_argument("--config", default=default_config, metavar="NAME|PATH",
                        help=f"recipe config: a shipped name or a YAML path, e.g. a run's saved {RESOLVED_CONFIG} (default: {default_config})")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="set any config key, dotted as in the YAML (train.learning_rate=1e-5 data.max_length=1024 "
                             "lora.r=16 recipe=refine); checked against the config's settings; applied after the flags")
    parser.add_argument("--output-dir", type=output_folder, metavar="DIR",
                        help=f"where checkpoints, the final model and {RESOLVED_CONFIG} go (what `duck run --model DIR` loads)")
    overrides = parser.add_argument_group("convenience flags (each sets the config keys in brackets)")
    packing = overrides.add_mutually_exclusive_group()
    run = parser.add_argument_group("running")
    run.add_argument("--resume", action="store_true", help="continue from the latest checkpoint-* in --output-dir")
    run.add_argument("--dry-run", action="store_true", help="print the plan (parameters, tokens, steps, memory, time) without loading weights")
    run.add_argument("--tokens-per-second", type=number(0), help="throughput (all processes) for the dry-run's wall-time estimate")
    groups = {"config": overrides, "packing": packing, "running": run}
    for item in CONFIG_FLAGS:
        options = dict(item.options)
        help_text = options.get("help", "").format(launch=", ".join(available_launch_configs()))
        options["help"] = f"{help_text} [{item.keys}]".lstrip()
        groups[item.group].add_argument(item.flag, dest=item.dest, **options)
    run.add_argument("--num-machines", type=whole_number(1), default=1)
    run.add_argument("--machine-rank", type=whole_number(0), default=0)
    run.add_argument("--main-process-ip")
    run.add_argument("--main-process-port", type=whole_number(1, 65535))


def available_launch_configs() -> list[str]:
    return sorted(p.stem for p in LAUNCH_DIR.glob("*.yaml"))


def _flag_synonyms() -> dict[str, str]:
    """A flag's name -> the key it sets (``lr`` -> ``train.learning_rate``), for hints."""
    return {item.dest: item.keys.split(",")[0].split("=")[0].split(" ")[0] for item in CONFIG_FLAGS}


def _split_greedy_lists(args: argparse.Namespace) -> list[str]:
    """``--data a b train.epochs=1`` hands the override to ``--data`` (``nargs="+"``): take
    back the trailing items that are dotted overrides of a config section."""
    texts = list(getattr(args, "overrides", None) or [])
    sections = {key.split(".")[0] for key in setting_keys()}
    paths = getattr(args, "data", None)
    if paths:
        kept = []
        for path in paths:
            key, sep, _ = str(path).partition("=")
            if sep and is_override_key(key) and key.split(".")[0] in sections:
                texts.append(str(path))
            else:
                kept.append(path)
        if not kept:
            raise DuckError("--data got no paths", "give --data PATH... before the KEY=VALUE overrides, or set data.paths=[...]")
        args.data = kept
    return texts


def flag_overrides(args: argparse.Namespace) -> list[Override]:
    """The overrides the convenience flags given on the command line stand for, in table order."""
    overrides: list[Override] = []
    for item in CONFIG_FLAGS:
        overrides += item.overrides(getattr(args, item.dest, None))
    return overrides


def resolve_config(args: argparse.Namespace) -> tuple[RecipeConfig, list[Override]]:
    """The config this command line asks for and the overrides applied to it (flags first,
    then KEY=VALUE in order); data paths made absolute, so the saved file reads the same
    data from anywhere. A bad key or value is a ``DuckError`` before any work."""
    texts = _split_greedy_lists(args)
    overrides = flag_overrides(args) + parse_overrides(texts, _flag_synonyms())
    config = load_config(args.config, overrides)
    config.data.paths = [str(Path(p).absolute()) for p in config.data.paths]
    if config.recipe != args.command:
        raise DuckError(
            f"config {config.name!r} is for the {config.recipe} recipe, not {args.command} (its `recipe:` says so)",
            f"run `duck-train {config.recipe} --config {args.config}`, or add recipe={args.command} "
            f"to train these settings with the {args.command} recipe")
    for integration in config.train.report_to:
        if importlib.util.find_spec(integration) is None:
            raise DuckError(f"train.report_to {integration} needs the {integration} package", f"pip install {integration}")
    return config, overrides


def _describe_overrides(overrides: list[Override]) -> str:
    return " ".join(f"{key}={value if isinstance(value, str) else json.dumps(value)}" for key, value in overrides) or "none"


def require_packages(command: str, names: tuple[str, ...]) -> None:
    """Say which training packages are missing, before any work (the light install has none)."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise DuckError(f"duck-train {command} needs packages that are not installed: {', '.join(missing)}",
                        "install the training extras: pip install 'semcoder-duck[train]'")


def run_command(args: argparse.Namespace) -> int:
    """Resolve the config, then plan (``--dry-run``), launch, or train in this process."""
    config, overrides = resolve_config(args)
    require_packages(args.command, PLAN_PACKAGES if args.dry_run else TRAIN_PACKAGES)
    data_paths = [Path(p) for p in config.data.paths]
    if args.dry_run:
        from trainer.plan import make_plan

        present = [p for p in data_paths if p.exists()]
        if args.data and len(present) != len(data_paths):
            missing = ", ".join(str(p) for p in data_paths if not p.exists())
            raise DuckError(f"training data {missing} does not exist", "check the --data paths")
        plan = make_plan(config, present, tokens_per_second=args.tokens_per_second)
        print(plan.render())
        return 0
    if args.output_dir is None:
        raise DuckError("--output-dir is required to train", "e.g. --output-dir runs/semcoder")
    from trainer.data import shard_paths
    from trainer.sft import check_output_dir

    check_output_dir(args.output_dir, args.resume)  # before the saved config of an earlier run is replaced
    for path in data_paths:  # said now, before the slow imports of the recipe
        shard_paths(path)
    saved = args.output_dir / RESOLVED_CONFIG
    rank = os.environ.get("RANK", "0")
    if not os.environ.get(LAUNCHED_ENV) and rank == "0":
        save_resolved(config, overrides, args, saved)
    if wants_launch(args):
        return launch(launch_command(args, config, saved))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    planned, actual = config.train.global_batch_size, config.train.per_device_batch_size * config.train.gradient_accumulation_steps * world
    if planned != actual and rank == "0":
        print(f"note: {config.name} plans a global batch of {planned} on {config.train.num_processes} process(es); "
              f"this run has {actual} on {world} (adjust --grad-accum / --batch-size to match)", file=sys.stderr)
    recipe = importlib.import_module(f"trainer.recipes.{config.recipe}")
    recipe.run(config, data_paths, args.output_dir, resume=args.resume)
    if rank == "0":
        print(f"saved the model to {args.output_dir}; try: duck run --model {args.output_dir} FILE.py")
    return 0


def save_resolved(config: RecipeConfig, overrides: list[Override], args: argparse.Namespace, path: Path) -> Path:
    """Write the run's resolved config into its output folder; on ``--resume`` say first which
    settings differ from the ones the run was started with."""
    if args.resume and path.is_file() and Path(args.config).resolve() != path.resolve():
        try:
            before = flat_settings(load_config(str(path)))
        except DuckError:
            before = {}
        after = flat_settings(config)
        changed = [f"{key} {before[key]!r} -> {after[key]!r}" for key in after if key in before and before[key] != after[key]]
        if changed:
            print(f"note: resuming with settings that differ from {path}: " + "; ".join(changed), file=sys.stderr)
    return save_config(config, path, comments=[
        f"duck-train {args.command}: the resolved config of this run (what it trained with)",
        f"from: {config.source}",
        f"overrides: {_describe_overrides(overrides)}",
        f"resume: duck-train {config.recipe} --config {path} --output-dir {args.output_dir} --resume",
    ])


def wants_launch(args: argparse.Namespace) -> bool:
    if os.environ.get(LAUNCHED_ENV):
        return False  # we are one of the launched processes
    return args.num_processes > 1 or args.launch_config is not None


def resolve_launch_config(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = LAUNCH_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    raise DuckError(f"unknown launch config {name_or_path!r}", "shipped: " + ", ".join(available_launch_configs()) + "; or give a path to an accelerate config YAML")


def resolve_deepspeed_config(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path.resolve()
    shipped = LAUNCH_DIR / f"{name_or_path}.json"
    if shipped.is_file():
        return shipped
    raise DuckError(f"unknown DeepSpeed config {name_or_path!r}", "shipped: ds-zero2, ds-zero3; or give a path to a DeepSpeed JSON")


def launch_command(args: argparse.Namespace, config: RecipeConfig, config_file: Path) -> list[str]:
    """The launcher command running the config's recipe in every process, each reading the
    saved ``config_file``: ``torchrun`` on CPU (gloo), ``accelerate launch`` with the config's
    accelerate config (``--launch-config`` or ``launch.accelerate_config``; plain DDP when
    neither names one) otherwise."""
    module = ["-m", f"trainer.commands.{config.recipe}", "--config", str(config_file.resolve()),
              "--output-dir", str(args.output_dir.resolve()), *(["--resume"] if args.resume else [])]
    if config.train.use_cpu and args.launch_config is None:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(args.num_processes), "--nnodes", str(args.num_machines)]
        if args.num_machines > 1:
            command += ["--node_rank", str(args.machine_rank), "--master_addr", args.main_process_ip or "127.0.0.1"]
        else:
            command += ["--standalone"]
        if args.main_process_port:
            command += ["--master_port", str(args.main_process_port)]
        return command + module
    accelerate_config = resolve_launch_config(config.launch.accelerate_config or "ddp-gpu")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config)]
    if args.num_processes > 1:
        command += ["--num_processes", str(args.num_processes)]
    if args.num_machines > 1:
        command += ["--num_machines", str(args.num_machines), "--machine_rank", str(args.machine_rank)]
        if args.main_process_ip:
            command += ["--main_process_ip", args.main_process_ip]
    if args.main_process_port:
        command += ["--main_process_port", str(args.main_process_port)]
    return command + module


def launch(command: list[str]) -> int:
    print("launching: " + " ".join(command), file=sys.stderr)
    env = {**os.environ, LAUNCHED_ENV: "1"}
    try:
        result = subprocess.run(command, env=env, check=False)
    except OSError as error:
        raise DuckError(f"cannot start the launcher: {error}", "install the training extras: pip install 'semcoder-duck[train]'") from None
    if result.returncode != 0:
        raise DuckError(f"the launched training exited with status {result.returncode}", "see the processes' output above", exit_code=result.returncode)
    return 0


def standalone(command: str, configure_fn: Callable, main_fn: Callable, argv: list[str] | None = None) -> int:
    """Run one subcommand on its own (``python -m trainer.commands.semcoder ...``): what the
    launched processes run, so they need none of ``duck-train``'s other subcommands."""
    from duck.errors import report

    parser = Parser(prog=f"duck-train {command}")
    configure_fn(parser)
    args = parser.parse_args(argv)
    args.command = command
    try:
        return main_fn(args)
    except DuckError as error:
        return report(error)
    finally:
        _close_process_group()


def _close_process_group() -> None:
    """Leave torch.distributed cleanly so a launched process does not abort at exit."""
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()
