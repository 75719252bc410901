"""`duck-train --help` and the trainer's command modules stay free of torch & co."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "peft", "deepspeed", "bitsandbytes", "datasets")


def test_command_modules_import_no_heavy_packages():
    code = (
        "import sys, trainer.commands.semcoder, trainer.commands.refine, trainer.config, trainer.data, "
        "trainer.plan, trainer.sft, trainer.artifacts, trainer.batches, trainer.tiny\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
