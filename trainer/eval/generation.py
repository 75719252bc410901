"""Batched, resumable generation for the benchmarks, and choosing the backend that does it.

Every finished sample is appended at once to a generations JSONL
(``{"task_id", "sample", "completion"}``), so an interrupted run resumes where it stopped:
samples already in the file are not generated again. The backend is vLLM when it is
importable and a CUDA GPU is present (``trainer.eval.vllm_backend``), else the project's
``hf`` (transformers) or ``openai`` (a server) backend from ``models.registry``.

This module does not build prompts or score; it does not import torch at top level.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from duck.errors import DuckError
from models.base import BackendError


@dataclass(frozen=True)
class GenerationSettings:
    n: int = 1
    temperature: float = 0.0
    max_new_tokens: int = 1024
    batch_size: int = 8
    stop: tuple[str, ...] = ()


class GenerationStore:
    """The generations JSONL: what is done, and appending new samples as they finish."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.done: dict[tuple[str, int], str] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self.done[(str(row["task_id"]), int(row["sample"]))] = row["completion"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by an interruption: that sample is generated again

    def append(self, task_id: str, sample: int, completion: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"task_id": task_id, "sample": sample, "completion": completion}) + "\n")
        self.done[(task_id, sample)] = completion

    def samples(self, task_id: str, n: int) -> list[str]:
        return [self.done[(task_id, s)] for s in range(n)]


def generate_all(backend, items: Sequence[tuple[str, str]], settings: GenerationSettings,
                 store: GenerationStore, progress: Callable[[int, int], None] | None = None) -> dict[str, list[str]]:
    """Complete each ``(task_id, prompt)`` ``settings.n`` times; returns task_id -> completions.

    Prompts are sent in batches of ``settings.batch_size``; each batch's samples are stored
    before the next batch starts.
    """
    todo = [(task_id, prompt, s) for s in range(settings.n) for task_id, prompt in items
            if (task_id, s) not in store.done]
    total, finished = len(todo), 0
    for start in range(0, len(todo), settings.batch_size):
        batch = todo[start:start + settings.batch_size]
        try:
            texts = backend.generate([p for _, p, _ in batch], max_new_tokens=settings.max_new_tokens,
                                     stop=list(settings.stop), temperature=settings.temperature, n=1)
        except BackendError as error:
            raise DuckError(f"generation failed: {error.message}",
                            error.hint or "samples generated so far are kept; run the command again to resume") from None
        for (task_id, _, sample), text in zip(batch, texts):
            store.append(task_id, sample, text)
        finished += len(batch)
        if progress:
            progress(finished, total)
    return {task_id: store.samples(task_id, settings.n) for task_id, _ in items}


def vllm_usable() -> bool:
    """vLLM is installed and a CUDA GPU is visible (checked without importing torch eagerly)."""
    if importlib.util.find_spec("vllm") is None:
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def load_generation_backend(spec, use_vllm: bool | None = None):
    """The backend that generates for ``spec`` (a ``models.registry.BackendSpec``): vLLM for a
    local model where usable (unless ``use_vllm=False``), else hf/openai."""
    from models.registry import load_backend, resolve_model

    if spec.model and not spec.endpoint and (use_vllm if use_vllm is not None else vllm_usable()):
        from trainer.eval.vllm_backend import VLLMBackend

        return VLLMBackend(resolve_model(spec.model, spec.aliases))
    try:
        return load_backend(spec)
    except BackendError as error:
        raise DuckError(error.message, error.hint) from None
