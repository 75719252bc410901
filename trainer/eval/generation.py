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
from models.base import SAMPLING_TOP_P, BackendError


@dataclass(frozen=True)
class GenerationSettings:
    n: int = 1
    temperature: float = 0.0
    #: the cap on new tokens; with ``max_total_tokens`` the cap is the smaller of the two
    max_new_tokens: int = 1024
    batch_size: int = 8
    stop: tuple[str, ...] = ()
    #: prompt + answer tokens (the released CRUXEval runs: 4,096); a prompt that alone fills it
    #: gets an empty answer, as the release skips it
    max_total_tokens: int | None = None

    @property
    def top_p(self) -> float:
        """What the backends sample with (``models.base.SAMPLING_TOP_P``); 1.0 when greedy."""
        return SAMPLING_TOP_P if self.temperature > 0 else 1.0


@dataclass(frozen=True)
class Decoding:
    """A benchmark's decoding defaults, as the released scripts run it."""

    temperature: float
    max_new_tokens: int
    max_total_tokens: int | None = None


#: the released settings per benchmark: CRUXEval (scripts/eval/eval_cruxeval_*_pass_1_*.sh:
#: T=0.2, top_p 0.95, max_length_generation 4096 = prompt + answer), HumanEval+/MBPP+
#: (eval_evalplus.sh: greedy, 512 new tokens) and self-refinement (eval_finetune_refine.sh:
#: T=0.6 on HumanEval, 0.8 on MBPP, top_p 0.95, 512 new tokens)
RELEASED_DECODING: dict[str, Decoding] = {
    "cruxeval-o": Decoding(0.2, 4096, 4096),
    "cruxeval-i": Decoding(0.2, 4096, 4096),
    "humaneval": Decoding(0.0, 512),
    "mbpp": Decoding(0.0, 512),
    "refine-humaneval": Decoding(0.6, 512),
    "refine-mbpp": Decoding(0.8, 512),
}


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
    budgets = answer_budgets(backend, {p for _, p, _ in todo}, settings)
    for start in range(0, len(todo), settings.batch_size):
        batch = todo[start:start + settings.batch_size]
        # prompts with the same answer budget go to the backend together
        for budget in sorted({budgets[p] for _, p, _ in batch}):
            group = [entry for entry in batch if budgets[entry[1]] == budget]
            texts = _complete(backend, [p for _, p, _ in group], budget, settings) if budget > 0 else [""] * len(group)
            for (task_id, _, sample), text in zip(group, texts):
                store.append(task_id, sample, text)
        finished += len(batch)
        if progress:
            progress(finished, total)
    return {task_id: store.samples(task_id, settings.n) for task_id, _ in items}


def answer_budgets(backend, prompts, settings: GenerationSettings) -> dict[str, int]:
    """New tokens each prompt may take: ``max_new_tokens``, and with ``max_total_tokens`` no
    more than what the prompt leaves of it (when the backend can count the prompt's tokens)."""
    budgets = {}
    count = getattr(backend, "count_tokens", None) if settings.max_total_tokens else None
    for prompt in prompts:
        length = count(prompt) if count else None
        left = settings.max_total_tokens - length if length is not None else settings.max_new_tokens
        budgets[prompt] = max(0, min(settings.max_new_tokens, left))
    return budgets


def _complete(backend, prompts: list[str], budget: int, settings: GenerationSettings) -> list[str]:
    try:
        return backend.generate(prompts, max_new_tokens=budget, stop=list(settings.stop),
                                temperature=settings.temperature, n=1)
    except BackendError as error:
        raise DuckError(f"generation failed: {error.message}",
                        error.hint or "samples generated so far are kept; run the command again to resume") from None


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
