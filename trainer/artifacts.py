"""What a training run leaves beside its weights so ``duck run --model DIR`` needs no flags.

``duck.json`` names the prompt format the model was trained on and, for a LoRA adapter, the
base model it applies to. This module only writes and reads that small file; it does not
save weights (the recipes do, through transformers / peft) and it imports nothing heavy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DUCK_JSON = "duck.json"


def write_duck_json(
    out_dir: Path | str,
    *,
    prompt_format: str,
    base_model: str | None,
    adapter: bool,
    recipe: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/duck.json``: ``prompt_format``, ``base_model``, ``adapter``, ``recipe``."""
    data: dict[str, Any] = {"prompt_format": prompt_format, "base_model": base_model, "adapter": adapter}
    if recipe:
        data["recipe"] = recipe
    data.update(extra or {})
    path = Path(out_dir) / DUCK_JSON
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def read_duck_json(model_dir: Path | str) -> dict[str, Any]:
    """The ``duck.json`` of a saved model directory, or ``{}`` when there is none."""
    path = Path(model_dir) / DUCK_JSON
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
