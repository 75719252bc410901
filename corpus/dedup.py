"""The dedup stage: exact and near-duplicate removal and benchmark decontamination.

Decides, for every executed sample, whether it is kept: exact duplicates (same AST) and near
duplicates (MinHash LSH over code-token 3-grams, Jaccard >= 0.8, via ``datasketch``) are
dropped, as is any sample whose code or problem text shares a 20-token n-gram with a
benchmark's code or problem text (HumanEval, MBPP, CRUXEval or any file given); a call whose input-output pair a CRUXEval-format file holds is
dropped (the whole sample when every call is). It writes decisions ``{id, kept, reason,
dropped_calls}``; the export stage applies them. It does not read monologues.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

from corpus.shards import StageRun, count, read_jsonl, require_stage, stage_shards
from duck.errors import DuckError

NGRAM = 20
NEAR_THRESHOLD = 0.8
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+|\S")
_CODE_FIELDS = ("canonical_solution", "code", "solution", "prompt")


def tokens(code: str) -> list[str]:
    without_comments = re.sub(r"#[^\n]*", "", code)
    return _TOKEN.findall(without_comments)


def ngrams(toks: list[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def _normal_value(text: str) -> str:
    try:
        return repr(ast.literal_eval(text.strip()))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return re.sub(r"\s+", "", text)


def _normal_args(args: str) -> str:
    try:
        return repr(ast.literal_eval("(" + args.strip().rstrip(",") + ",)")) if args.strip() else "()"
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return re.sub(r"\s+", "", args)


class Benchmarks:
    """Code n-grams of benchmark solutions and CRUXEval input-output pairs."""

    def __init__(self) -> None:
        self.grams: set[tuple[str, ...]] = set()
        self.io_pairs: set[tuple[str, str]] = set()
        self.sources: list[str] = []

    def add_file(self, path: Path) -> None:
        path = Path(path)
        if not path.exists():
            raise DuckError(f"benchmark file {path} does not exist", "check the --benchmark path")
        self.sources.append(str(path))
        if path.suffix == ".py":
            self.grams |= ngrams(tokens(path.read_text(encoding="utf-8")))
            return
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as stream:
            for line in stream:
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError:
                    raise DuckError(f"{path} is not JSON Lines", "pass .jsonl, .jsonl.gz or .py benchmark files") from None
                self.add_item(item)

    def add_item(self, item: dict) -> None:
        prompt, solution = item.get("prompt", ""), item.get("canonical_solution", "")
        if prompt and solution:
            self.grams |= ngrams(tokens(prompt + solution))
        for key in _CODE_FIELDS:
            if isinstance(item.get(key), str):
                self.grams |= ngrams(tokens(item[key]))
        if isinstance(item.get("input"), str) and isinstance(item.get("output"), str):
            self.io_pairs.add((_normal_args(item["input"]), _normal_value(item["output"])))

    def contaminated(self, code: str) -> bool:
        return not self.grams.isdisjoint(ngrams(tokens(code)))

    def shares_io(self, call: str, output: str) -> bool:
        args = call[call.index("(") + 1:call.rindex(")")]
        return (_normal_args(args), _normal_value(output)) in self.io_pairs


def run_dedup(out: Path, benchmarks: Benchmarks, *, progress: bool = True) -> dict:
    from datasketch import MinHash, MinHashLSH

    folder = require_stage(out, "execute")
    shutil.rmtree(out / "dedup", ignore_errors=True)  # decisions depend on the benchmark set: redo
    records = [r for p in stage_shards(folder) for r in read_jsonl(p)]
    lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=64)
    exact: set[str] = set()

    def work(chunk: list[dict], stats: dict) -> list[dict]:
        decisions = []
        for record in chunk:
            code = record["code"]
            reason = None
            key = hashlib.sha1(ast.dump(ast.parse(code)).encode()).hexdigest()
            shared = [r["call"] for r in record["runs"] if benchmarks.shares_io(r["call"], r["output"])]
            if benchmarks.contaminated(code):
                reason = "contaminated_code"
            elif benchmarks.contaminated(record.get("problem") or ""):
                reason = "contaminated_problem"
            elif len(shared) == len(record["runs"]):
                reason = "cruxeval_io_pair"
            elif key in exact:
                reason = "exact_duplicate"
            else:
                signature = MinHash(num_perm=64)
                for gram in ngrams(tokens(code), 3):
                    signature.update(" ".join(gram).encode())
                if lsh.query(signature):
                    reason = "near_duplicate"
                else:
                    lsh.insert(record["id"], signature)
                    exact.add(key)
            count(stats, reason or "kept")
            if reason is None and shared:
                count(stats, "runs_dropped_cruxeval_io_pair", len(shared))
            decisions.append({"id": record["id"], "kept": reason is None, "reason": reason or "kept",
                              "dropped_calls": shared if reason is None else []})
        return decisions

    # one chunk: near-duplicate state spans the whole corpus, so this stage reruns whole
    return StageRun(out, "dedup", progress).run([records], work, unit="samples", benchmarks=benchmarks.sources)
