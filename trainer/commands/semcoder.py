"""``duck-train semcoder``: fine-tune a base model on PyX with the SemCoder recipe.

Flags, config resolution and launching live in ``trainer.commands.common``; the training
itself in ``trainer.recipes.semcoder`` (the config's ``recipe:`` must say semcoder). Importing this
module is cheap (no torch).
"""

from __future__ import annotations

import argparse
import sys

from trainer.commands import common


def configure(parser: argparse.ArgumentParser) -> None:
    common.configure(parser, default_config="semcoder-6.7b")


def main(args: argparse.Namespace) -> int:
    return common.run_command(args)


if __name__ == "__main__":  # what `accelerate launch` runs in each process
    sys.exit(common.standalone("semcoder", configure, main))
