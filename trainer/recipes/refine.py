"""The self-refine recipe: fine-tune a SemCoder checkpoint on PyX-R (debug & refine rows
``{fault, response}``), loss on the response only, a share of rows held out and scored
for loss after each epoch.

It builds the same ``SFTTrainer`` as ``trainer.recipes.semcoder`` on PyX-R rows and keeps
its own visible run: train, score the held-out rows, save. No distributed code of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from trainer.config import RECIPE_TASKS, RecipeConfig
from trainer.recipes.semcoder import build_trainer as build_sft_trainer
from trainer.sft import check_output_dir, save_run


def build_trainer(config: RecipeConfig, data_paths: Sequence[Path], output_dir: Path):
    """The SemCoder recipe's ``SFTTrainer`` on PyX-R rows, with the held-out share as eval set."""
    return build_sft_trainer(config, data_paths, output_dir, tasks=RECIPE_TASKS["refine"])


def run(config: RecipeConfig, data_paths: Sequence[Path], output_dir: Path, *, resume: bool = False) -> Path:
    check_output_dir(output_dir, resume)
    trainer, loaded = build_trainer(config, data_paths, output_dir)
    trainer.train(resume_from_checkpoint=True if resume else None)
    if trainer.eval_dataset is not None:
        metrics = trainer.evaluate()
        trainer.log_metrics("held_out", metrics)
    save_run(trainer, config, loaded, output_dir)
    return output_dir
