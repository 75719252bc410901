"""Multi-process runs go through standard launchers: torchrun (gloo, use_cpu) for real
data-parallel training on CPU, DeepSpeed ZeRO-2 on CPU, and ``accelerate launch`` commands
built from the shipped configs."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest
import yaml

from trainer.commands import common, semcoder
from trainer.config import LAUNCH_DIR, RESOLVED_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    semcoder.configure(parser)
    args = parser.parse_args(list(argv))
    args.command = "semcoder"
    return args


def test_shipped_launch_configs_are_valid_accelerate_and_deepspeed_files():
    names = common.available_launch_configs()
    assert {"zero3-8gpu", "zero3-offload-8gpu", "zero2-8gpu", "ddp-gpu"} <= set(names)
    for name in names:
        data = yaml.safe_load((LAUNCH_DIR / f"{name}.yaml").read_text())
        assert data["distributed_type"] in {"DEEPSPEED", "MULTI_GPU"}
        if data["distributed_type"] == "DEEPSPEED":
            assert data["deepspeed_config"]["zero_stage"] in (2, 3)
        pytest.importorskip("accelerate")
        from accelerate.commands.config.config_args import load_config_from_file

        loaded = load_config_from_file(str(LAUNCH_DIR / f"{name}.yaml"))  # accelerate's own reader accepts it
        assert loaded.distributed_type.value == data["distributed_type"]
    offload = yaml.safe_load((LAUNCH_DIR / "zero3-offload-8gpu.yaml").read_text())["deepspeed_config"]
    assert offload["offload_optimizer_device"] == offload["offload_param_device"] == "cpu"
    for name in ("ds-zero2", "ds-zero3"):
        assert json.loads((LAUNCH_DIR / f"{name}.json").read_text())["zero_optimization"]["stage"] in (2, 3)


def _launch(*argv: str) -> list[str]:
    args = _args(*argv)
    config, _ = common.resolve_config(args)
    return common.launch_command(args, config, args.output_dir / RESOLVED_CONFIG)


def test_gpu_runs_are_handed_to_accelerate_launch_reading_the_saved_config(tmp_path):
    command = _launch("--config", "semcoder-6.7b", "--data", str(tmp_path), "--output-dir", str(tmp_path / "o"),
                      "--num-processes", "8", "--launch-config", "zero3-8gpu", "--max-steps", "10", "train.learning_rate=1e-5")
    assert command[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
    assert command[4] == str(LAUNCH_DIR / "zero3-8gpu.yaml")
    assert command[command.index("--num_processes") + 1] == "8"
    # every process reads the resolved config the parent saved: no flags rebuilt, no overrides repeated
    tail = command[command.index("trainer.commands.semcoder") + 1:]
    assert tail == ["--config", str(tmp_path / "o" / RESOLVED_CONFIG), "--output-dir", str(tmp_path / "o")]


def test_the_configs_own_accelerate_config_is_used_without_launch_config(tmp_path):
    """semcoder-6.7b plans ZeRO-3 (launch.accelerate_config: zero3-8gpu): --num-processes 8 alone runs it."""
    command = _launch("--config", "semcoder-6.7b", "--output-dir", str(tmp_path), "--num-processes", "8")
    assert command[4] == str(LAUNCH_DIR / "zero3-8gpu.yaml")
    command = _launch("--config", "semcoder-6.7b", "--output-dir", str(tmp_path), "--num-processes", "8", "launch.accelerate_config=null")
    assert command[4] == str(LAUNCH_DIR / "ddp-gpu.yaml")


def test_the_launched_module_is_the_configs_recipe_and_resume_is_passed_on(tmp_path):
    args = _args("--config", "refine-6.7b", "--output-dir", str(tmp_path), "--num-processes", "8", "--resume")
    args.command = "refine"
    config, _ = common.resolve_config(args)
    command = common.launch_command(args, config, tmp_path / RESOLVED_CONFIG)
    assert "trainer.commands.refine" in command and command[-1] == "--resume"


def test_cpu_recipes_launch_under_torchrun(tmp_path):
    command = _launch("--config", "tiny", "--output-dir", str(tmp_path), "--num-processes", "2")
    assert command[1:7] == ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--nnodes", "1"]
    assert "--standalone" in command and "accelerate.commands.launch" not in command


def test_multi_node_flags_reach_accelerate(tmp_path):
    command = _launch("--output-dir", str(tmp_path), "--num-processes", "16", "--launch-config", "zero3-8gpu",
                      "--num-machines", "2", "--machine-rank", "1", "--main-process-ip", "10.0.0.1", "--main-process-port", "29500")
    for flag, value in (("--num_machines", "2"), ("--machine_rank", "1"), ("--main_process_ip", "10.0.0.1"), ("--main_process_port", "29500")):
        assert command[command.index(flag) + 1] == value


def _run_launched(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop(common.LAUNCHED_ENV, None)
    return subprocess.run([sys.executable, "-m", "trainer.commands.semcoder", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_process_data_parallel_run_on_cpu_completes(pyx_dir, tmp_path):
    pytest.importorskip("trl")
    out = tmp_path / "ddp"
    result = _run_launched(["--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(out), "--max-steps", "4",
                            "--num-processes", "2", "--cpu"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torch.distributed.run --nproc_per_node 2" in result.stderr
    assert f"--config {out / RESOLVED_CONFIG}" in result.stderr  # the processes read the saved config
    history = json.loads((out / "train_log.json").read_text())
    # two processes x 4 sequences per step: the 27 packed sequences are one epoch in 4 steps
    assert history[-1]["epoch"] == pytest.approx(1.0)
    assert (out / "model.safetensors").is_file() and (out / "duck.json").is_file()


@pytest.mark.slow
def test_deepspeed_zero2_runs_on_cpu(pyx_dir, tmp_path):
    pytest.importorskip("deepspeed")
    for attempt in range(2):
        out = tmp_path / f"zero2-{attempt}"
        result = _run_launched(["--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(out), "--max-steps", "2",
                                "--num-processes", "2", "--cpu", "--deepspeed", "ds-zero2"])
        # DeepSpeed's CPU shared-memory comm now and then aborts a rank natively on a loaded 2-core
        # box ("terminate called without an active exception", exit -6); that, and only that, is
        # tried once more — any other failure fails at once
        if result.returncode == 0 or "terminate called without an active exception" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "model.safetensors").is_file()
    history = json.loads((out / "train_log.json").read_text())
    assert [h["step"] for h in history if "loss" in h] == [1, 2]
