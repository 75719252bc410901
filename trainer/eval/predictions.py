"""Reading generations made elsewhere, so ``--predictions FILE`` scores them without a model.

Two formats, as the official harnesses write them:

- CRUXEval: one JSON object ``{"sample_0": ["pred", ...], ...}`` (a prediction may also be a
  model's raw text with ``[ANSWER]``; ``trainer.eval.cruxeval`` reduces it);
- EvalPlus samples: JSON Lines with ``task_id`` and ``solution`` (a whole program) or
  ``completion`` (text that continues the prompt), several lines per task for pass@k.

Also this tool's own generations file (JSONL with ``task_id``, ``sample``, ``completion``).
This module only reads files; it does not score.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from duck.errors import DuckError


def read_cruxeval_predictions(path: Path) -> dict[str, list[str]]:
    """``{sample id: [prediction, ...]}`` from CRUXEval's generations JSON (or our JSONL)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DuckError(f"cannot read predictions {path}: {error.strerror}", "check the --predictions path") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DuckError(f"{path}: {key} must map to a list of strings",
                                'CRUXEval predictions look like {"sample_0": ["..."], ...}')
            out[str(key)] = value
        return out
    return {task: [s["text"] for s in samples] for task, samples in _read_jsonl_samples(path).items()}


def read_evalplus_samples(path: Path) -> dict[str, list[dict]]:
    """``{task_id: [{"solution": ...} or {"completion": ...}, ...]}`` from a samples JSONL."""
    return {task: [{s["kind"]: s["text"]} for s in samples] for task, samples in _read_jsonl_samples(Path(path)).items()}


def _read_jsonl_samples(path: Path) -> dict[str, list[dict]]:
    samples: dict[str, list[dict]] = defaultdict(list)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DuckError(f"cannot read predictions {path}: {error.strerror}", "check the --predictions path") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise DuckError(f"{path}:{number} is not JSON",
                            "pass CRUXEval's generations JSON or a JSONL of {task_id, solution|completion}") from None
        kind = next((k for k in ("solution", "completion") if isinstance(row.get(k), str)), None)
        if not isinstance(row, dict) or "task_id" not in row or kind is None:
            raise DuckError(f"{path}:{number} has no task_id with a solution or completion",
                            'each line looks like {"task_id": "HumanEval/0", "solution": "def ..."}')
        samples[str(row["task_id"])].append({"kind": kind, "text": row[kind]})
    return dict(samples)
