"""``duck-train semcoder``: fine-tune a base model on PyX with the SemCoder recipe.

Flags and launching live in ``trainer.commands.common``; the training itself in
``trainer.recipes.semcoder``. Importing this module is cheap (no torch).
"""

from __future__ import annotations

import argparse
import sys

from trainer.commands import common

TASKS = {"nl", "forward", "backward"}


def configure(parser: argparse.ArgumentParser) -> None:
    common.configure(parser, default_config="semcoder-6.7b")


def main(args: argparse.Namespace) -> int:
    def recipe(*a, **k):
        from trainer.recipes.semcoder import run

        return run(*a, **k)

    return common.run_command(args, tasks=TASKS, recipe=recipe)


if __name__ == "__main__":  # what `accelerate launch` runs in each process
    sys.exit(common.standalone("semcoder", configure, main))
