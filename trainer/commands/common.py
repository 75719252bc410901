"""What ``duck-train semcoder`` and ``duck-train refine`` share: their flags, config
overrides, ``--dry-run``, and handing multi-process runs to ``accelerate launch``.

Single-process runs call the recipe in this process. With ``--num-processes N > 1`` or a
``--launch-config``, the same command line is re-run in every process by a standard
launcher: ``accelerate launch`` with a shipped config from ``trainer/launch/`` (DeepSpeed
ZeRO-3, ZeRO-3 + offload, ZeRO-2, plain DDP) or the user's own on GPUs, and ``torchrun``
(gloo, ``use_cpu``) with ``--cpu``, where accelerate would need MPI. ``--deepspeed JSON``
hands a DeepSpeed config to the Trainer itself (ZeRO on CPU under torchrun). There is no
home-made distributed code. Nothing here imports torch at import
time.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import yaml

from duck.cli_types import Parser, number, output_folder, seed, whole_number
from duck.errors import DuckError
from trainer.config import LAUNCH_DIR, LaunchConfig, RecipeConfig, load_config

#: set in the environment of processes started by ``accelerate launch`` from duck-train
LAUNCHED_ENV = "DUCK_TRAIN_LAUNCHED"
#: what a dry run imports (the model on the meta device), and what training imports besides
PLAN_PACKAGES = ("torch", "transformers", "accelerate", "peft")
TRAIN_PACKAGES = PLAN_PACKAGES + ("trl", "datasets")


def configure(parser: argparse.ArgumentParser, *, default_config: str) -> None:
    parser.add_argument("--config", default=default_config, metavar="NAME|PATH", help=f"recipe config: a shipped name or a YAML path (default: {default_config})")
    parser.add_argument("--data", nargs="+", type=Path, metavar="PATH", help="`duck-train corpus` output folders or JSONL files (default: the config's data.paths)")
    parser.add_argument("--output-dir", type=output_folder, metavar="DIR", help="where checkpoints and the final model go (what `duck run --model DIR` loads)")
    parser.add_argument("--base-model", metavar="NAME|DIR", help="start from this model instead of the config's model.base")
    overrides = parser.add_argument_group("overrides of the config")
    overrides.add_argument("--max-steps", type=whole_number(1), help="stop after N optimizer steps")
    overrides.add_argument("--epochs", type=number(0))
    overrides.add_argument("--lr", type=number(0, hint="give a learning rate above 0, e.g. --lr 5e-5 (the SemCoder recipe's peak)"),
                           help="peak learning rate")
    overrides.add_argument("--batch-size", type=whole_number(1), help="sequences per device per micro-batch")
    overrides.add_argument("--grad-accum", type=whole_number(1), help="gradient accumulation steps")
    overrides.add_argument("--max-length", type=whole_number(1), help="context length in tokens")
    overrides.add_argument("--warmup-steps", type=number(0, inclusive=True),
                           help="warm-up steps, or a fraction of all steps when below 1")
    overrides.add_argument("--save-steps", type=whole_number(1))
    overrides.add_argument("--seed", type=seed)
    packing = overrides.add_mutually_exclusive_group()
    packing.add_argument("--no-packing", action="store_true", help="plain padded batches, one sample per row (the released trainer's)")
    packing.add_argument("--packing", action="store_true",
                         help="pack rows into max-length sequences: faster, but a batch then counts packs, not samples")
    overrides.add_argument("--report-to", nargs="+", choices=["wandb", "tensorboard"], help="also log to Weights & Biases / TensorBoard")
    overrides.add_argument("--cpu", action="store_true", help="train on CPU (fp32)")
    run = parser.add_argument_group("running")
    run.add_argument("--resume", action="store_true", help="continue from the latest checkpoint-* in --output-dir")
    run.add_argument("--dry-run", action="store_true", help="print the plan (parameters, tokens, steps, memory, time) without loading weights")
    run.add_argument("--tokens-per-second", type=number(0), help="throughput (all processes) for the dry-run's wall-time estimate")
    run.add_argument("--num-processes", type=whole_number(1), default=1, help="processes (GPUs) in all; > 1 runs through `accelerate launch`")
    run.add_argument("--launch-config", metavar="NAME|PATH", help="accelerate config (shipped: " + ", ".join(available_launch_configs()) + ")")
    run.add_argument("--deepspeed", metavar="NAME|JSON", help="DeepSpeed config for the Trainer (shipped: ds-zero2, ds-zero3), e.g. for ZeRO on CPU under torchrun")
    run.add_argument("--num-machines", type=whole_number(1), default=1)
    run.add_argument("--machine-rank", type=whole_number(0), default=0)
    run.add_argument("--main-process-ip")
    run.add_argument("--main-process-port", type=whole_number(1, 65535))


def available_launch_configs() -> list[str]:
    return sorted(p.stem for p in LAUNCH_DIR.glob("*.yaml"))


def apply_overrides(config: RecipeConfig, args: argparse.Namespace) -> RecipeConfig:
    """The config with the command line's overrides applied (the YAML file is untouched)."""
    train, data, model = config.train, config.data, config.model
    changes = {
        "max_steps": args.max_steps, "epochs": args.epochs, "learning_rate": args.lr,
        "per_device_batch_size": args.batch_size, "gradient_accumulation_steps": args.grad_accum,
        "warmup_steps": args.warmup_steps, "save_steps": args.save_steps, "seed": args.seed,
        "report_to": args.report_to,
    }
    train = dataclasses.replace(train, **{k: v for k, v in changes.items() if v is not None})
    if args.cpu:
        train = dataclasses.replace(train, use_cpu=True, bf16=False)
        model = dataclasses.replace(model, dtype="float32", flash_attention=False, load_in_4bit=model.load_in_4bit)
    if args.max_length is not None:
        data = dataclasses.replace(data, max_length=args.max_length)
    if args.no_packing:
        data = dataclasses.replace(data, packing=False, padding_free=False)
    if getattr(args, "packing", False):
        data = dataclasses.replace(data, packing=True)
    if args.data:
        data = dataclasses.replace(data, paths=[str(p) for p in args.data])
    if args.base_model:
        model = dataclasses.replace(model, base=args.base_model, architecture=None)
    if args.num_processes > 1:
        train = dataclasses.replace(train, num_processes=args.num_processes)
    if args.deepspeed:
        train = dataclasses.replace(train, deepspeed=str(resolve_deepspeed_config(args.deepspeed)))
    for integration in train.report_to:
        if importlib.util.find_spec(integration) is None:
            raise DuckError(f"--report-to {integration} needs the {integration} package", f"pip install {integration}")
    launch = launch_settings(args, config.launch)
    return dataclasses.replace(config, train=train, data=data, model=model, launch=launch)


def launch_settings(args: argparse.Namespace, default: LaunchConfig) -> LaunchConfig:
    """The ZeRO stage and offload a run will really use: from --launch-config / --deepspeed
    when given (so the dry-run plans the memory of the chosen launch), else the recipe's."""
    if args.deepspeed:
        data = json.loads(resolve_deepspeed_config(args.deepspeed).read_text(encoding="utf-8"))
        zero = data.get("zero_optimization", {})
        offload = str(zero.get("offload_optimizer", {}).get("device", "none")) != "none"
        return dataclasses.replace(default, zero_stage=int(zero.get("stage", 0)), offload=offload)
    if args.launch_config:
        path = resolve_launch_config(args.launch_config)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("distributed_type") != "DEEPSPEED":
            return dataclasses.replace(default, accelerate_config=str(path), zero_stage=0, offload=False)
        deepspeed = data.get("deepspeed_config") or {}
        offload = str(deepspeed.get("offload_optimizer_device", "none")) != "none"
        return dataclasses.replace(default, accelerate_config=str(path), zero_stage=int(deepspeed.get("zero_stage", 0)), offload=offload)
    return default


def require_packages(command: str, names: tuple[str, ...]) -> None:
    """Say which training packages are missing, before any work (the light install has none)."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise DuckError(f"duck-train {command} needs packages that are not installed: {', '.join(missing)}",
                        "install the training extras: pip install 'semcoder-duck[train]'")


def run_command(args: argparse.Namespace, *, tasks: set[str], recipe: Callable[..., Path]) -> int:
    require_packages(args.command, PLAN_PACKAGES if args.dry_run else TRAIN_PACKAGES)
    config = apply_overrides(load_config(args.config), args)
    data_paths = [Path(p) for p in config.data.paths]
    if args.dry_run:
        from trainer.plan import make_plan

        present = [p for p in data_paths if p.exists()]
        if args.data and len(present) != len(data_paths):
            missing = ", ".join(str(p) for p in data_paths if not p.exists())
            raise DuckError(f"training data {missing} does not exist", "check the --data paths")
        world = args.num_processes if args.num_processes > 1 else config.train.num_processes
        plan = make_plan(config, present, tasks=tasks, world_size=world, tokens_per_second=args.tokens_per_second)
        print(plan.render())
        return 0
    if args.output_dir is None:
        raise DuckError("--output-dir is required to train", "e.g. --output-dir runs/semcoder")
    from trainer.data import shard_paths

    for path in data_paths:  # said now, before the slow imports of the recipe
        shard_paths(path)
    if wants_launch(args):
        return launch(args, on_cpu=config.train.use_cpu)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    planned, actual = config.train.global_batch_size, config.train.per_device_batch_size * config.train.gradient_accumulation_steps * world
    if planned != actual and os.environ.get("RANK", "0") == "0":
        print(f"note: {config.name} plans a global batch of {planned} on {config.train.num_processes} process(es); "
              f"this run has {actual} on {world} (adjust --grad-accum / --batch-size to match)", file=sys.stderr)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    recipe(config, data_paths, args.output_dir, resume=args.resume)
    if os.environ.get("RANK", "0") == "0":
        print(f"saved the model to {args.output_dir}; try: duck run --model {args.output_dir} FILE.py")
    return 0


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


def launch_command(args: argparse.Namespace, *, on_cpu: bool = False) -> list[str]:
    """The launcher command running this same subcommand in every process: ``torchrun`` on
    CPU (gloo), ``accelerate launch`` with a launch config otherwise."""
    module = ["-m", f"trainer.commands.{args.command}", *recipe_argv(args)[1:]]
    if (args.cpu or on_cpu) and args.launch_config is None:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(args.num_processes), "--nnodes", str(args.num_machines)]
        if args.num_machines > 1:
            command += ["--node_rank", str(args.machine_rank), "--master_addr", args.main_process_ip or "127.0.0.1"]
        else:
            command += ["--standalone"]
        if args.main_process_port:
            command += ["--master_port", str(args.main_process_port)]
        return command + module
    name = args.launch_config or "ddp-gpu"
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(resolve_launch_config(name))]
    if args.num_processes > 1:
        command += ["--num_processes", str(args.num_processes)]
    if args.num_machines > 1:
        command += ["--num_machines", str(args.num_machines), "--machine_rank", str(args.machine_rank)]
        if args.main_process_ip:
            command += ["--main_process_ip", args.main_process_ip]
    if args.main_process_port:
        command += ["--main_process_port", str(args.main_process_port)]
    return command + module


def recipe_argv(args: argparse.Namespace) -> list[str]:
    """The command line of one launched process (the launch flags dropped)."""
    argv = [args.command, "--config", str(Path(args.config).resolve()) if Path(args.config).exists() else args.config]
    if args.data:
        argv += ["--data", *(str(p.resolve()) for p in args.data)]
    argv += ["--output-dir", str(args.output_dir.resolve())]
    valued = {
        "--base-model": args.base_model, "--max-steps": args.max_steps, "--epochs": args.epochs, "--lr": args.lr,
        "--batch-size": args.batch_size, "--grad-accum": args.grad_accum, "--max-length": args.max_length,
        "--warmup-steps": args.warmup_steps, "--save-steps": args.save_steps, "--seed": args.seed,
    }
    for flag, value in valued.items():
        if value is not None:
            argv += [flag, str(value)]
    if args.report_to:
        argv += ["--report-to", *args.report_to]
    if args.deepspeed:
        argv += ["--deepspeed", str(resolve_deepspeed_config(args.deepspeed))]
    for flag, on in {"--no-packing": args.no_packing, "--packing": args.packing, "--cpu": args.cpu,
                     "--resume": args.resume}.items():
        if on:
            argv.append(flag)
    if args.num_processes > 1:
        argv += ["--num-processes", str(args.num_processes)]  # keeps the global batch in the config right
    return argv


def launch(args: argparse.Namespace, *, on_cpu: bool = False) -> int:
    command = launch_command(args, on_cpu=on_cpu)
    print("launching: " + " ".join(command), file=sys.stderr)
    env = {**os.environ, LAUNCHED_ENV: "1"}
    try:
        result = subprocess.run(command, env=env, check=False)
    except OSError as error:
        raise DuckError(f"cannot start accelerate: {error}", "install the training extras: pip install 'semcoder-duck[train]'") from None
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
