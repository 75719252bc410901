"""The export stage: PyX and PyX-R JSONL shards in SemCoder's schema, a manifest last.

PyX rows ``{nl, fwd_mnl, bwd_mnl, response, meta}`` (exactly one of the first three filled)
and PyX-R rows ``{fault, response, meta}``; every row's ``meta["written_by"]`` says who wrote
its response: ``"model"`` (the paper's path: sampled and verified), ``"template"`` (duck's
offline path, rendered from traces) or, for an NL->code row of extracted code, ``"source"``
(the seed's own docstring and code) are built with ``models.prompts`` so that
``models.prompts.row_prompt(row)`` gives the training prompt and target, and the code in a
forward/backward row is the same block duck's inference prompts show (the released layouts).
Samples that the dedup stage dropped, and calls it dropped, are left out. This stage runs nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from corpus.shards import chunked, read_stage, require_stage, write_jsonl_atomic, write_manifest
from models.parse import answer_text
from models.prompts import ExecutionQuestion, backward_instruction, forward_instruction, row_task

ROWS_PER_SHARD = 2000
PYX_KEYS = ("nl", "fwd_mnl", "bwd_mnl", "response", "meta")
PYXR_KEYS = ("fault", "response", "meta")


def validate_row(row: dict) -> str:
    """The row's task (``nl``/``forward``/``backward``/``refine``); raises ValueError if malformed."""
    if "fault" in row:
        if set(row) != set(PYXR_KEYS):
            raise ValueError(f"PyX-R row keys {sorted(row)} != {sorted(PYXR_KEYS)}")
        for section in ("### Problem", "### Buggy Solution", "### Failed Test"):
            if section not in row["fault"]:
                raise ValueError(f"PyX-R fault lacks {section}")
        if "[Refined]" not in row["response"] or "[/Refined]" not in row["response"]:
            raise ValueError("PyX-R response lacks [Refined] ... [/Refined]")
    elif set(row) != set(PYX_KEYS):
        raise ValueError(f"PyX row keys {sorted(row)} != {sorted(PYX_KEYS)}")
    if not all(isinstance(row[k], str) for k in row if k != "meta") or not isinstance(row["meta"], dict):
        raise ValueError("row fields must be strings and meta a dict")
    task = row_task(row)
    if task in ("forward", "backward"):
        if not row["response"].startswith("[MONOLOGUE]\n") or answer_text(row["response"]) is None:
            raise ValueError("execution rows need [MONOLOGUE] ... [ANSWER] ... [/ANSWER]")
        if "PYTHON]\n" not in row["fwd_mnl" if task == "forward" else "bwd_mnl"]:  # backward: `PYTHON]`, as released
            raise ValueError("execution rows carry the code in a [PYTHON] block")
    if not row["response"].strip():
        raise ValueError("empty response")
    return task


def pyx_rows(record: dict) -> list[dict]:
    base_meta = {"id": record["id"], "source": record.get("source_kind", "extracted"), "origin": record.get("origin")}
    rows = []
    description = record.get("problem") or record.get("docstring")
    if description:
        # the problem and code of a synthesized sample are a model's; an extracted one's are the seed's own
        written_by = "model" if record.get("source_kind") == "synthesized" else "source"
        rows.append({"nl": description.strip(), "fwd_mnl": "", "bwd_mnl": "", "response": record["code"].rstrip(),
                     "meta": {**base_meta, "task": "nl", "written_by": written_by}})
    for mono in record["monologues"]:
        question = ExecutionQuestion(record["code"], call=mono["call"], output=mono["output"])
        meta = {**base_meta, "task": mono["direction"], "written_by": mono["written_by"], "call": mono["call"],
                "output": mono["output"], "code": record["code"]}
        if mono["direction"] == "forward":
            rows.append({"nl": "", "fwd_mnl": forward_instruction(question), "bwd_mnl": "", "response": mono["response"], "meta": meta})
        else:
            rows.append({"nl": "", "fwd_mnl": "", "bwd_mnl": backward_instruction(question), "response": mono["response"], "meta": meta})
    return rows


def run_export(out: Path, *, progress: bool = True) -> dict:
    decisions = {d["id"]: d for d in read_stage(require_stage(out, "dedup")) if d["kept"]}
    kept_ids = set(decisions)
    dropped = {(key, call) for key, d in decisions.items() for call in d.get("dropped_calls", [])}
    folder = out / "export"
    shutil.rmtree(folder, ignore_errors=True)
    stats: dict = {"pyx": {}, "pyxr": {}}
    pyx = []
    for record in read_stage(require_stage(out, "monologue")):
        if record["id"] not in kept_ids:
            continue
        record = {**record, "monologues": [m for m in record["monologues"] if (record["id"], m["call"]) not in dropped]}
        for row in pyx_rows(record):
            task = validate_row(row)
            key = f"{task}_{row['meta']['written_by']}"
            stats["pyx"][key] = stats["pyx"].get(key, 0) + 1
            pyx.append(row)
    pyxr = []
    if (out / "refine" / "manifest.json").exists():
        for row in read_stage(out / "refine"):
            if row["meta"]["code_id"] not in kept_ids or any(
                    row["meta"]["failed_test"].startswith(f"assert {call} == ")
                    for key, call in dropped if key == row["meta"]["code_id"]):
                continue
            row = {"fault": row["fault"], "response": row["response"], "meta": {**row["meta"], "id": row["id"]}}
            validate_row(row)
            key = f"{row['meta']['written_by']}_{row['meta']['bug']}"
            stats["pyxr"][key] = stats["pyxr"].get(key, 0) + 1
            pyxr.append(row)
    for name, rows in (("pyx", pyx), ("pyxr", pyxr)):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for index, shard in enumerate(chunked(rows, ROWS_PER_SHARD)):
            write_jsonl_atomic(folder / name / f"part-{index:05d}.jsonl", shard)
    stats["pyx_rows"], stats["pyxr_rows"] = len(pyx), len(pyxr)
    manifest = write_manifest(folder, "export", stats,
                              pyx_shards=sorted(p.name for p in (folder / "pyx").glob("part-*.jsonl")),
                              pyxr_shards=sorted(p.name for p in (folder / "pyxr").glob("part-*.jsonl")),
                              schema={"pyx": list(PYX_KEYS), "pyxr": list(PYXR_KEYS)})
    if progress:
        print(f"export: {len(pyx)} PyX rows, {len(pyxr)} PyX-R rows -> {folder}")
    return manifest
