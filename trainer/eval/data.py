"""Reading the benchmark files: CRUXEval (``cruxeval.jsonl``) and EvalPlus's HumanEval+ /
MBPP+ releases (``HumanEvalPlus.jsonl.gz``, ``MbppPlus.jsonl.gz``, gzipped or not).

Paths are always given by the caller (``--data``); nothing here knows where a workplace
keeps its data or downloads anything. This module only parses: it does not build prompts
or score (``trainer.eval.cruxeval``, ``trainer.eval.evalplus``).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from duck.errors import DuckError


@dataclass(frozen=True)
class CruxSample:
    """One CRUXEval sample: ``f`` in ``code``, called as ``f(<input>)``, returns ``output``."""

    id: str
    code: str
    input: str
    output: str

    @property
    def call(self) -> str:
        return f"f({self.input})"


@dataclass(frozen=True)
class CodeTask:
    """One HumanEval+ or MBPP+ task as EvalPlus releases it (inputs still JSON-decoded only)."""

    dataset: str  # "humaneval" or "mbpp"
    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    base_input: list
    plus_input: list
    atol: float

    @property
    def reference(self) -> str:
        """The ground-truth program, as EvalPlus builds it: prompt + canonical solution."""
        return self.prompt + self.canonical_solution


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON Lines file, gzipped when the name ends in ``.gz``."""
    path = Path(path)
    if not path.is_file():
        raise DuckError(f"benchmark file {path} does not exist", "pass the file with --data PATH")
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    rows.append(json.loads(line))
    except (OSError, ValueError, EOFError) as error:
        raise DuckError(f"could not read {path} (line {len(rows) + 1}): {error}",
                        "--data must point at the benchmark's .jsonl or .jsonl.gz file") from None
    if not rows:
        raise DuckError(f"benchmark file {path} holds no tasks", "--data must point at the benchmark's .jsonl or .jsonl.gz file")
    return rows


def load_cruxeval(path: Path) -> list[CruxSample]:
    rows = read_jsonl(path)
    try:
        return [CruxSample(str(r["id"]), r["code"], r["input"], r["output"]) for r in rows]
    except KeyError as missing:
        raise DuckError(f"{path} is not CRUXEval: a row has no {missing} field",
                        "pass cruxeval.jsonl (rows with code, input, output, id)") from None


def load_evalplus(path: Path, dataset: str) -> list[CodeTask]:
    """HumanEval+ (``dataset="humaneval"``) or MBPP+ (``"mbpp"``) tasks from EvalPlus's release."""
    rows = read_jsonl(path)
    tasks = []
    for r in rows:
        try:
            plus = r["plus_input"]
            tasks.append(CodeTask(
                dataset=dataset, task_id=r["task_id"], prompt=r["prompt"], entry_point=r["entry_point"],
                canonical_solution=r["canonical_solution"], base_input=list(r["base_input"]),
                plus_input=list(plus) if isinstance(plus, list) else [],  # Mbpp/793 ships {}
                atol=float(r.get("atol") or 0),
            ))
        except KeyError as missing:
            raise DuckError(f"{path} is not an EvalPlus release: a row has no {missing} field",
                            "pass HumanEvalPlus.jsonl.gz or MbppPlus.jsonl.gz") from None
    wrong = [t.task_id for t in tasks if not t.task_id.lower().startswith(dataset[:4])]
    if wrong:
        raise DuckError(f"{path} holds {wrong[0]}, which is not a {dataset} task",
                        "humaneval takes HumanEvalPlus.jsonl.gz, mbpp takes MbppPlus.jsonl.gz")
    return tasks
