"""The results of one evaluation: the table beside the paper's numbers, and the JSON file.

Paper numbers are SemCoder's (Ding et al., 2024) for SemCoder-S 6.7B and GPT-3.5-turbo, as
quoted in the project's design notes; a benchmark the paper does not report shows ``-``.
This module formats and writes; it does not score.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

#: column -> {reference model: pass@1}
PAPER: dict[str, dict[str, float]] = {
    "CRUXEval-O": {"SemCoder-S 6.7B": 63.9, "GPT-3.5-turbo": 59.0},
    "CRUXEval-I": {"SemCoder-S 6.7B": 63.6, "GPT-3.5-turbo": 50.3},
    "HumanEval": {"SemCoder-S 6.7B": 79.3, "GPT-3.5-turbo": 76.8},
    "HumanEval+": {"SemCoder-S 6.7B": 74.4},
}
REFERENCE_MODELS = ("SemCoder-S 6.7B", "GPT-3.5-turbo")


def table(results: dict) -> str:
    """A plain-text table: this run's pass@k per column, then the paper's rows."""
    scores: dict[str, dict[str, float]] = results["scores"]
    columns = list(scores)
    metrics = sorted({m for col in scores.values() for m in col}, key=lambda m: int(m.split("@")[1]))
    header = ["model", *[f"{c} {m}" if len(metrics) > 1 else c for c in columns for m in metrics]]
    rows = [[results.get("model_name") or "this model",
             *[_fmt(scores[c].get(m)) for c in columns for m in metrics]]]
    for ref in REFERENCE_MODELS:
        rows.append([f"{ref} (paper)",
                     *[_fmt(PAPER.get(c, {}).get(ref)) if m == "pass@1" else "-" for c in columns for m in metrics]])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    extra = []
    if results.get("rounds"):
        extra.append("self-refine pass@1 by round: " + ", ".join(
            f"{r['round']}: {r['pass@1']:.1f}" + (f" ({r['pass@1+']:.1f}+)" if "pass@1+" in r else "")
            for r in results["rounds"]))
    return "\n".join(lines + extra)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def write_results(path: Path, results: dict) -> Path:
    """Write ``results`` as JSON atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path
