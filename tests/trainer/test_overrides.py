"""Dotted ``KEY=VALUE`` overrides, the convenience flags as their aliases, the resolved config a
run saves (and its launched processes read), the config's ``recipe:`` and the warm-up settings.

Most of these resolve configs only (no torch); the ones that plan or train use the tiny model."""

from __future__ import annotations

import argparse

import pytest

from duck.errors import DuckError
from tests.trainer.conftest import duck_train
from trainer.commands import common, refine, semcoder
from trainer.config import (RECIPE_TASKS, RESOLVED_CONFIG, available_configs, config_dict, load_config, parse_overrides,
                            save_config, setting_keys, setting_type)


def _args(command: str, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    {"semcoder": semcoder, "refine": refine}[command].configure(parser)
    args = parser.parse_args(list(argv))
    args.command = command
    return args


def _resolve(*argv: str, command: str = "semcoder"):
    return common.resolve_config(_args(command, *argv))[0]


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from trainer.cli import main

    capsys.readouterr()
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- parsing and applying ----------------------------------------------------------------------

def test_dotted_overrides_set_any_key_with_its_type():
    config = _resolve("--config", "semcoder-6.7b", "train.learning_rate=1e-5", "data.max_length=1024",
                      "train.report_to=[]", "train.eval_steps=25", "model.architecture=null", "data.paths=[a, b]",
                      "lora.r=8", "train.bf16=false", "launch.zero_stage=2")
    assert config.train.learning_rate == 1e-5 and isinstance(config.train.learning_rate, float)
    assert config.data.max_length == 1024 and config.train.eval_steps == 25
    assert config.model.architecture is None and config.train.report_to == [] and not config.train.bf16
    assert [p.rsplit("/", 1)[-1] for p in config.data.paths] == ["a", "b"]
    assert config.lora is not None and config.lora.r == 8 and config.lora.alpha == 16  # a new section gets its defaults
    assert config.launch.zero_stage == 2
    assert load_config("semcoder-6.7b").train.learning_rate == 5e-5  # the YAML file is untouched


def test_text_settings_keep_the_text_as_given():
    assert _resolve("model.base=0123", "train.report_to=").model.base == "0123"
    assert parse_overrides(["train.report_to=wandb,tensorboard"]) == [("train.report_to", ["wandb", "tensorboard"])]
    assert parse_overrides(["lora={r: 4, alpha: 8}"]) == [("lora", {"r": 4, "alpha": 8})]


def test_overrides_apply_after_the_flags_and_in_order():
    assert _resolve("--lr", "1e-4", "train.learning_rate=2e-5").train.learning_rate == 2e-5
    assert _resolve("train.epochs=1", "train.epochs=3").train.epochs == 3


def test_every_convenience_flag_is_an_alias_of_real_keys():
    """The one table: each flag names keys that exist, and gives the same config as those keys."""
    keys = set(setting_keys())
    for item in common.CONFIG_FLAGS:
        for part in item.keys.split(","):
            key = part.strip().split("=")[0].split(" ")[0]
            assert key in keys, (item.flag, key)
    pairs = [(["--lr", "3e-5"], ["train.learning_rate=3e-5"]),
             (["--max-steps", "7"], ["train.max_steps=7"]),
             (["--batch-size", "2", "--grad-accum", "3"], ["train.per_device_batch_size=2", "train.gradient_accumulation_steps=3"]),
             (["--max-length", "777"], ["data.max_length=777"]),
             (["--warmup-ratio", "0.1"], ["train.warmup_ratio=0.1", "train.warmup_steps=0"]),
             (["--no-packing"], ["data.packing=false", "data.padding_free=false"]),
             (["--cpu"], ["train.use_cpu=true", "train.bf16=false", "train.fp16=false", "model.dtype=float32", "model.flash_attention=false"]),
             (["--base-model", "some/model"], ["model.base=some/model", "model.architecture=null"]),
             (["--num-processes", "4"], ["train.num_processes=4"]),
             (["--deepspeed", "ds-zero2"], [f"train.deepspeed={common.resolve_deepspeed_config('ds-zero2')}", "launch.zero_stage=2", "launch.offload=false"])]
    for flags, dotted in pairs:
        assert config_dict(_resolve(*flags)) == config_dict(_resolve(*dotted)), flags


def test_data_takes_back_the_overrides_after_its_paths(tmp_path):
    args = _args("semcoder", "--data", str(tmp_path), "train.epochs=1", "data.max_length=99")
    config, _ = common.resolve_config(args)
    assert config.data.paths == [str(tmp_path)] and config.train.epochs == 1 and config.data.max_length == 99


# --- rejected before any work ------------------------------------------------------------------

@pytest.mark.parametrize("override,hint", [
    ("optimizer.lr=1e-5", "train.learning_rate"),  # a flag's name under another section
    ("data.max_len=1024", "data.max_length"),
    ("train.learning_rat=1e-5", "train.learning_rate"),
    ("train.epochs=two", "number"),
    ("train.max_steps=1.5", "whole number"),
    ("train.warmup_steps=0.03", "warmup_ratio"),
    ("train.bf16=maybe", "true or false"),
    ("recipe=pretrain", "semcoder, refine"),
    ("model.dtype=int8", "bfloat16"),
    ("train.learning_rate.peak=1", "train.learning_rate=VALUE"),
    ("train=3", "indentation"),
    ("source=/tmp/x.yaml", "top-level settings"),
    ("learning_rate", "KEY=VALUE"),
    ("train.learning_rate=-1", "above 0"),
    ("data.held_out=1", "below 1"),
    ("train.learning_rate=nan", "number"),
])
def test_a_bad_key_or_value_is_an_error_with_a_hint_and_exit_2_before_any_work(override, hint, tmp_path, capsys):
    out = tmp_path / "run"
    status, stdout, stderr = _cli(capsys, "semcoder", "--config", "tiny", "--output-dir", str(out), override)
    lines = stderr.splitlines()
    assert status == 2, stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), stderr
    assert hint in stderr and "Traceback" not in stderr
    assert stdout == "" and not out.exists()  # nothing planned, nothing written


def test_an_error_from_an_override_names_the_command_line():
    with pytest.raises(DuckError) as caught:
        _resolve("train.bf16=true", "train.fp16=true")
    assert "from the command line" in caught.value.message and "choose one precision" in caught.value.hint


def test_a_yaml_file_is_as_strict_as_an_override(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("name: old\nrecipe: semcoder\ndescription: x\nmodel: {base: tiny}\ntrain: {warmup_steps: 0.03}\n")
    with pytest.raises(DuckError) as caught:
        load_config(str(path))
    assert "warmup_steps" in caught.value.message and "warmup_ratio" in caught.value.hint


# --- the config's recipe -------------------------------------------------------------------------

def test_a_config_for_another_recipe_is_refused_with_both_ways_out(capsys):
    status, stdout, stderr = _cli(capsys, "semcoder", "--config", "refine-6.7b", "--dry-run")
    assert status == 2 and stdout == ""
    assert "refine" in stderr.splitlines()[0]
    assert "duck-train refine --config refine-6.7b" in stderr and "recipe=semcoder" in stderr


def test_recipe_override_trains_a_config_with_the_other_recipe():
    config = _resolve("--config", "tiny", "recipe=refine", command="refine")
    assert config.recipe == "refine" and config.tasks == RECIPE_TASKS["refine"]
    for name in available_configs():
        assert load_config(name).tasks == RECIPE_TASKS[load_config(name).recipe]


def test_one_definition_of_each_recipes_tasks():
    from models.prompts import Task

    assert set().union(*RECIPE_TASKS.values()) == set(Task.__args__)
    assert set(RECIPE_TASKS) == set(setting_type("recipe").__args__)


# --- the saved config ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", available_configs())
def test_the_saved_config_reads_back_to_the_same_settings(name, tmp_path):
    config = load_config(name, parse_overrides(["train.learning_rate=1e-5", "data.paths=[/data/x]", "train.report_to=[]"]))
    path = save_config(config, tmp_path / RESOLVED_CONFIG, comments=["a comment"])
    again = load_config(str(path))
    assert config_dict(again) == config_dict(config)
    assert again.source == str(path) and path.read_text().startswith("# a comment\n")
    # and once more: saving what was read is byte-identical
    assert save_config(again, tmp_path / "twice.yaml", comments=["a comment"]).read_text() == path.read_text()


def test_a_launched_run_saves_the_resolved_config_and_hands_the_processes_that_file(pyx_dir, tmp_path, monkeypatch, capsys):
    pytest.importorskip("trl")
    launched = []
    monkeypatch.setattr(common, "launch", lambda command: launched.append(command) or 0)
    monkeypatch.delenv(common.LAUNCHED_ENV, raising=False)
    out = tmp_path / "run"
    rc = duck_train("semcoder", "--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(out), "--num-processes", "2",
                    "--max-steps", "4", "train.learning_rate=1e-3", "data.max_length=256")
    assert rc == 0
    saved = out / RESOLVED_CONFIG
    [command] = launched
    assert command[command.index("--config") + 1] == str(saved)
    assert "--max-steps" not in command and not any("=" in part for part in command)
    config = load_config(str(saved))
    assert (config.recipe, config.train.max_steps, config.train.learning_rate, config.data.max_length) == ("semcoder", 4, 1e-3, 256)
    assert config.train.num_processes == 2 and config.data.paths == [str(pyx_dir)]
    text = saved.read_text()
    assert "overrides: data.paths=" in text and "train.learning_rate=0.001" in text
    # what a launched process does with it: the same settings, nothing launched again, nothing rewritten
    monkeypatch.setenv(common.LAUNCHED_ENV, "1")
    args = _args("semcoder", "--config", str(saved), "--output-dir", str(out))
    assert config_dict(common.resolve_config(args)[0]) == config_dict(config)
    assert not common.wants_launch(_args("semcoder", "--config", str(saved), "--num-processes", "2"))


def test_a_refused_run_leaves_the_earlier_runs_saved_config_alone(tiny_run, pyx_dir, capsys):
    before = (tiny_run / RESOLVED_CONFIG).read_text()
    assert duck_train("semcoder", "--config", "tiny", "--data", str(pyx_dir), "--output-dir", str(tiny_run), "--max-steps", "2") == 2
    assert (tiny_run / RESOLVED_CONFIG).read_text() == before


def test_a_trained_run_holds_its_resolved_config(tiny_run, pyx_dir):
    config = load_config(str(tiny_run / RESOLVED_CONFIG))
    assert config.name == "tiny" and config.recipe == "semcoder" and config.train.max_steps == 30
    assert config.data.paths == [str(pyx_dir)]
    assert "resume: duck-train semcoder --config" in (tiny_run / RESOLVED_CONFIG).read_text()


# --- warm-up and the dry run ---------------------------------------------------------------------

def test_warmup_steps_and_ratio_reach_the_trainer_with_one_meaning_each(tmp_path):
    pytest.importorskip("trl")
    from trainer.sft import sft_config

    steps = sft_config(load_config("tiny", parse_overrides(["train.warmup_steps=3"])), tmp_path, has_eval=False)
    ratio = sft_config(load_config("tiny", parse_overrides(["train.warmup_steps=0", "train.warmup_ratio=0.25"])), tmp_path, has_eval=False)
    assert steps.get_warmup_steps(100) == 3 and ratio.get_warmup_steps(100) == 25
    assert load_config("semcoder-6.7b-qlora").train.warmup_ratio == 0.03  # was warmup_steps: 0.03
    with pytest.raises(DuckError) as caught:
        load_config("semcoder-6.7b-qlora", parse_overrides(["train.warmup_steps=5"]))
    assert "both" in caught.value.message


def test_dry_run_prints_steps_per_epoch_in_samples_with_overrides(capsys):
    pytest.importorskip("accelerate")
    assert duck_train("semcoder", "--config", "semcoder-6.7b", "--dry-run", "train.gradient_accumulation_steps=4",
                      "train.warmup_ratio=0.05") == 0
    out = capsys.readouterr().out
    # 93,456 PyX samples / (8 x 4 x 8) = 256 per step
    assert "optimizer steps   366 per epoch in samples (93,456 samples / 256 per step)" in out
    assert "warmup 5% of steps" in out


def test_refine_dry_run_of_a_semcoder_config_with_recipe_refine_counts_pyx_r_rows(pyx_r_file, capsys):
    pytest.importorskip("accelerate")
    assert duck_train("refine", "--config", "tiny", "--data", str(pyx_r_file), "--dry-run", "recipe=refine") == 0
    assert "60 rows" in capsys.readouterr().out
    with pytest.raises(DuckError):  # the semcoder recipe finds no PyX rows in PyX-R data
        from trainer.plan import make_plan

        make_plan(load_config("tiny"), [pyx_r_file])
