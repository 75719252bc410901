"""The SemCoder recipe: supervised fine-tuning on PyX (NL->code, forward and backward
execution reasoning), loss on the response only.

One function, one visible loop: load rows -> prompt/completion pairs (the inference
rendering) -> model (full, 4-bit + LoRA, or tiny) -> TRL ``SFTTrainer`` -> save what
``duck run --model DIR`` needs. Launching several processes is ``duck-train``'s job
(``accelerate launch``); this module runs inside each process and has no distributed code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from trainer.config import RECIPE_TASKS, RecipeConfig
from trainer.data import load_examples, split_held_out, to_dataset
from trainer.sft import check_output_dir, load_model, save_run, sft_config, texts_for_tokenizer


def build_trainer(config: RecipeConfig, data_paths: Sequence[Path], output_dir: Path, *,
                  tasks: frozenset[str] = RECIPE_TASKS["semcoder"]):
    """Rows -> prompt/completion pairs -> model -> a ready ``SFTTrainer`` (nothing trained yet).

    ``tasks`` picks the rows (PyX here; the refine recipe passes PyX-R's ``refine``).
    """
    from trl import SFTTrainer

    examples = load_examples(data_paths, tasks=tasks)
    train_rows, held_out_rows = split_held_out(examples, config.data.held_out, config.train.seed)
    # the SFTConfig comes first: under DeepSpeed ZeRO-3 it makes from_pretrained load sharded
    args = sft_config(config, output_dir, has_eval=bool(held_out_rows))
    loaded = load_model(config, texts_for_tokenizer(train_rows))
    trainer = SFTTrainer(
        model=loaded.model,
        args=args,
        train_dataset=to_dataset(train_rows),
        eval_dataset=to_dataset(held_out_rows) if held_out_rows else None,
        processing_class=loaded.tokenizer,
        peft_config=loaded.peft_config,
    )
    return trainer, loaded


def run(config: RecipeConfig, data_paths: Sequence[Path], output_dir: Path, *, resume: bool = False) -> Path:
    check_output_dir(output_dir, resume)
    trainer, loaded = build_trainer(config, data_paths, output_dir)
    trainer.train(resume_from_checkpoint=True if resume else None)
    save_run(trainer, config, loaded, output_dir)
    return output_dir
