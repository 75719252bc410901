"""Training data for the recipes: SemCoder-schema rows in, prompt/completion pairs out.

Reads ``duck-train corpus`` output folders (the shards its ``manifest.json`` lists, or every
``*.jsonl`` / ``*.jsonl.gz`` below the folder) and plain JSONL files. Each row is a PyX row
``{nl, fwd_mnl, bwd_mnl, response}`` or a PyX-R row ``{fault, response}`` (extra keys such
as ``meta`` are ignored), or a row of the instruction-tuning sets SemCoder-S mixes in, which
``semcoder_rows`` turns into PyX ``nl`` rows (Magicoder's Evol-Instruct ``{instruction,
response}``, ``{problem, solution}`` rows, CodeContests problems). Each row becomes
``{"prompt", "completion"}`` through
``models.prompts.row_prompt``, the same rendering duck uses at inference, so TRL masks the
prompt and trains on the response only. This module does not tokenize (TRL does) and does
not import torch.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from duck.errors import DuckError
from models.prompts import CODING_PROBLEM_INSTRUCTION, row_prompt, row_task

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str
    task: str
    origin: str  # "file:line", for error messages and audits


def shard_paths(path: Path) -> list[Path]:
    """The JSONL shards a ``--data`` path stands for, in a stable order.

    A ``duck-train corpus`` folder stands for its ``export`` stage; a folder with a
    ``manifest.json`` for the shards it lists (``shards``, and the export stage's
    ``pyx_shards`` / ``pyxr_shards`` under ``pyx/`` and ``pyxr/``); any other folder for every
    ``*.jsonl`` / ``*.jsonl.gz`` below it."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DuckError(f"training data {path} does not exist", "pass --data with a `duck-train corpus` output folder or a JSONL file")
    if (path / "export" / MANIFEST).is_file():
        path = path / "export"
    manifest = path / MANIFEST
    if manifest.is_file():
        listed = _manifest_shards(manifest)
        if listed:
            return listed
    shards = sorted(p for p in path.rglob("*") if p.is_file() and (p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz")))
    if not shards:
        raise DuckError(f"no *.jsonl shards under {path}", "run `duck-train corpus build --out DIR` first, or point --data at JSONL files")
    return shards


def _manifest_shards(manifest: Path) -> list[Path]:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DuckError(f"cannot read {manifest}: {error}", "rerun the corpus export stage to rewrite it") from None
    if not isinstance(data, dict):
        return []
    paths = []
    for key, subfolder in (("shards", "."), ("pyx_shards", "pyx"), ("pyxr_shards", "pyxr")):
        for entry in data.get(key) or []:
            name = entry.get("path") if isinstance(entry, dict) else entry
            if not isinstance(name, str):
                continue
            shard = manifest.parent / subfolder / name
            if not shard.is_file():
                raise DuckError(f"{manifest} lists {subfolder}/{name}, which is missing", "rerun `duck-train corpus export` to finish the export")
            paths.append(shard)
    return paths


def read_rows(path: Path) -> Iterator[tuple[dict, str]]:
    """Each JSON row of one shard with its ``file:line`` origin."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            origin = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DuckError(f"{origin} is not valid JSON ({error.msg})", "fix or remove that line") from None
            if not isinstance(row, dict):
                raise DuckError(f"{origin} is not a JSON object", "each line must be one row in the SemCoder schema")
            yield row, origin


#: CodeContests' language code for Python 3 (deepmind/code_contests ``solutions.language``)
CODE_CONTESTS_PYTHON3 = 3


def semcoder_rows(row: dict) -> list[dict]:
    """A row in the SemCoder schema, or the PyX ``nl`` rows an instruction-tuning row stands for.

    - PyX / PyX-R rows (any of ``nl``, ``fwd_mnl``, ``bwd_mnl``, ``fault``) are kept as they are;
    - ``{instruction, response}`` (Magicoder-Evol-Instruct-110K, SemCoder-S's Evol-Instruct
      part): the instruction is the description, the response (markdown with code) the target;
    - ``{problem, solution}`` or ``{description, solution}`` (a coding problem with one
      solution, e.g. SemCoder-S's CodeContests part): the release's "Write a solution to the
      following coding problem:" instruction, the solution fenced as Python;
    - deepmind/code_contests rows (``description`` and ``solutions: {language, solution}``):
      one row per Python 3 solution, as above.
    Any other row is returned unchanged (and refused later with a hint).
    """
    if any(key in row for key in ("nl", "fwd_mnl", "bwd_mnl", "fault")):
        return [row]
    if isinstance(row.get("instruction"), str) and isinstance(row.get("response"), str):
        return [_nl_row(row["instruction"].strip(), row["response"])]
    problem = row.get("problem") or row.get("description")
    if isinstance(problem, str) and isinstance(row.get("solution"), str):
        return [_problem_row(problem, row["solution"])]
    solutions = row.get("solutions")
    if isinstance(problem, str) and isinstance(solutions, dict):
        pairs = zip(solutions.get("language") or [], solutions.get("solution") or [])
        return [_problem_row(problem, code) for language, code in pairs if language == CODE_CONTESTS_PYTHON3]
    return [row]


def _nl_row(description: str, response: str) -> dict:
    return {"nl": description, "fwd_mnl": "", "bwd_mnl": "", "response": response}


def _problem_row(problem: str, solution: str) -> dict:
    return _nl_row(CODING_PROBLEM_INSTRUCTION.format(problem=problem.strip()), f"```python\n{solution.strip()}\n```")


def row_to_example(row: dict, origin: str) -> Example:
    """One SemCoder-schema row as a prompt/completion pair (the inference rendering)."""
    if not isinstance(row.get("response"), str) or not row["response"]:
        raise DuckError(f"{origin}: row has no `response`", "rows need {nl|fwd_mnl|bwd_mnl, response}, {fault, response}, "
                        "{instruction, response} or {problem, solution}")
    try:
        task = row_task(row)
        prompt, completion = row_prompt(row)
    except ValueError as error:
        raise DuckError(f"{origin}: {error}", "rows need exactly one of nl, fwd_mnl, bwd_mnl (PyX) or a fault (PyX-R)") from None
    return Example(prompt=prompt, completion=completion, task=task, origin=origin)


def load_examples(paths: Sequence[Path | str], *, tasks: set[str] | None = None) -> list[Example]:
    """Every row under ``paths`` as an ``Example``; ``tasks`` keeps only those tasks."""
    if not paths:
        raise DuckError("no training data given", "pass --data PATH (a corpus folder or a JSONL file), or list data.paths in the config")
    examples = []
    for given in paths:
        for shard in shard_paths(Path(given)):
            for raw, origin in read_rows(shard):
                for row in semcoder_rows(raw):
                    example = row_to_example(row, origin)
                    if tasks is None or example.task in tasks:
                        examples.append(example)
    if not examples:
        wanted = f" for tasks {', '.join(sorted(tasks))}" if tasks else ""
        raise DuckError(f"no training rows{wanted} in {', '.join(map(str, paths))}", "check that --data points at PyX (semcoder) or PyX-R (refine) shards")
    return examples


def split_held_out(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(train, held_out): a seeded random ``fraction`` of rows held out, at least one if > 0."""
    if fraction <= 0:
        return examples, []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    count = max(1, round(len(examples) * fraction))
    if count >= len(examples):
        raise DuckError(f"cannot hold out {fraction:.0%} of only {len(examples)} rows", "use more data or lower data.held_out")
    held = set(order[:count])
    return [e for i, e in enumerate(examples) if i not in held], [examples[i] for i in sorted(held)]


def to_dataset(examples: Sequence[Example]):
    """A ``datasets.Dataset`` with ``prompt`` and ``completion`` columns (TRL's prompt-completion format)."""
    from datasets import Dataset

    return Dataset.from_dict(
        {"prompt": [e.prompt for e in examples], "completion": [e.completion for e in examples]}
    )
