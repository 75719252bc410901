"""JSONL shards and resumable stages: the storage every corpus stage reads and writes.

A stage's output is a folder ``OUT/<stage>/`` of ``part-NNNNN.jsonl`` shards, each written to
a temporary name and renamed when complete, and a ``manifest.json`` written last. A stage
maps input shard *i* to output shard *i*; on a rerun, shards that already exist are skipped,
so a crash or Ctrl-C loses at most the shard in progress. This module moves records; it
does not know what any stage computes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from duck.errors import DuckError

MANIFEST = "manifest.json"


def shard_name(index: int) -> str:
    return f"part-{index:05d}.jsonl"


def write_jsonl_atomic(path: Path, records: Iterable[dict]) -> int:
    """Write records to ``path`` via a temporary file and a rename; returns how many."""
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)
    return count


def read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as error:
                    raise DuckError(f"{path}:{number} is not valid JSON ({error})",
                                    "delete that shard and rerun the stage that wrote it") from None


def stage_shards(folder: Path) -> list[Path]:
    """The complete shards of a stage folder, in order."""
    return sorted(folder.glob("part-*.jsonl"))


def read_stage(folder: Path) -> Iterator[dict]:
    for shard in stage_shards(folder):
        yield from read_jsonl(shard)


def require_stage(out: Path, stage: str) -> Path:
    folder = out / stage
    if not (folder / MANIFEST).exists():
        raise DuckError(f"stage '{stage}' has not finished in {out}",
                        f"run `duck-train corpus {stage} --out {out}` first (or `corpus build`)")
    return folder


def write_manifest(folder: Path, stage: str, stats: dict, **extra: object) -> dict:
    shards = stage_shards(folder)
    manifest = {
        "stage": stage,
        "shards": [p.name for p in shards],
        "records": sum(1 for p in shards for _ in read_jsonl(p)),
        "stats": stats,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


@dataclass
class StageRun:
    """Runs ``work`` over input chunks, one output shard per chunk, skipping finished shards.

    ``work(chunk, stats)`` returns the output records of one chunk and adds counts to
    ``stats`` (a dict of ints); stats of each shard are kept beside it (``part-N.stats.json``)
    so that a resumed run reports the same totals as an uninterrupted one.
    """

    out: Path
    stage: str
    progress: bool = True
    stats: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.out / self.stage

    def run(self, chunks: Sequence[list], work: Callable[[list, dict], list[dict]],
            unit: str = "items", **manifest_extra: object) -> dict:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MANIFEST).unlink(missing_ok=True)
        total = sum(len(c) for c in chunks)
        with _progress(self.stage, total, unit, self.progress) as bar:
            for index, chunk in enumerate(chunks):
                path = self.folder / shard_name(index)
                stats_path = path.with_suffix(".stats.json")
                if path.exists() and stats_path.exists():
                    _merge(self.stats, json.loads(stats_path.read_text()))
                    bar.update(len(chunk))
                    continue
                shard_stats: dict = {}
                records = work(chunk, shard_stats)
                write_jsonl_atomic(path, records)
                stats_path.write_text(json.dumps(shard_stats))
                _merge(self.stats, shard_stats)
                bar.update(len(chunk))
        return write_manifest(self.folder, self.stage, self.stats, **manifest_extra)


def _merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


def count(stats: dict, key: str, n: int = 1) -> None:
    stats[key] = stats.get(key, 0) + n


def chunked(items: Sequence, size: int) -> list[list]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)] or []


class _progress:
    """A tqdm bar on stderr (disabled when ``enabled`` is false or tqdm is missing)."""

    def __init__(self, stage: str, total: int, unit: str, enabled: bool) -> None:
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm comes with the train extra; the stage still runs
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=stage, unit=f" {unit}", leave=True)

    def __enter__(self) -> "_progress":
        return self

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
