"""A batch-only backend on vLLM for fast benchmark generation on a CUDA GPU.

Loaded by ``trainer.eval.generation`` only when vLLM imports and a GPU is present; it
implements the ``generate`` half of ``models.base.Backend`` (the evaluator never streams).
Not a server, not used by duck's UI; imports vLLM inside ``__init__`` only.
"""

from __future__ import annotations

from typing import Sequence

from models.base import SAMPLING_TOP_P, BackendError, truncate_at_stop


class VLLMBackend:
    def __init__(self, model: str, *, max_model_len: int = 16384, gpu_memory_utilization: float = 0.9,
                 seed: int = 0) -> None:
        try:
            from vllm import LLM
        except ImportError as error:  # pragma: no cover - only where vllm is half installed
            raise BackendError(f"vLLM could not be imported ({error})", "pip install vllm, or pass --no-vllm") from None
        self.name = f"{model} (vllm)"
        self.seed = seed
        self.llm = LLM(model=model, max_model_len=max_model_len, gpu_memory_utilization=gpu_memory_utilization,
                       seed=seed, dtype="bfloat16")

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 512, stop: Sequence[str] = (),
                 temperature: float = 0.0, n: int = 1) -> list[str]:
        from vllm import SamplingParams

        params = SamplingParams(n=n, temperature=temperature, top_p=1.0 if temperature == 0 else SAMPLING_TOP_P,
                                max_tokens=max_new_tokens, stop=list(stop) or None,
                                include_stop_str_in_output=True, seed=self.seed if temperature == 0 else None)
        results: list[str] = []
        for request in self.llm.generate(list(prompts), params, use_tqdm=False):
            results.extend(truncate_at_stop(out.text, stop)[0] for out in request.outputs)
        return results

    def count_tokens(self, prompt: str) -> int | None:
        return len(self.llm.get_tokenizer()(prompt)["input_ids"])

    def stream(self, prompt: str, **kwargs):
        yield from self.generate([prompt], **kwargs)

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        self.llm = None
