"""A transformers backend: a local checkpoint, a hub id or a peft adapter, on CPU or GPU.

This is the only module of ``models`` that imports torch and transformers at its top; it is
imported by ``models.registry`` only when a local model is actually loaded, never on duck's
start-up path. It loads (dtype auto: bf16 on a GPU that has it, fp32 on CPU; optional
4-bit NF4 / 8-bit through bitsandbytes; a LoRA adapter directory on top of its base), and
generates: streamed (``TextIteratorStreamer`` fed by ``generate`` in a thread) or batched,
with stop strings and cancellation. It does not build prompts or parse answers.

A checkpoint written by ``duck-train`` may carry a ``duck.json`` (``prompt_format``,
``base_model``, ...); it is read into ``HFBackend.info`` when present.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterator, Sequence

import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from models.base import SAMPLING_TOP_P, BackendError, StopScanner, truncate_at_stop

DUCK_INFO_FILE = "duck.json"
ADAPTER_CONFIG = "adapter_config.json"


class _StopOnEvent(StoppingCriteria):
    """Stops generation when the event is set (cancel) or every row has hit a stop string."""

    def __init__(self, event: threading.Event, tokenizer, stop: Sequence[str], prompt_len: int) -> None:
        self.event = event
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.prompt_len = prompt_len
        # enough tokens to hold the longest stop string even at one character per token
        self.window = max((len(s) for s in self.stop), default=0) + 2

    def __call__(self, input_ids, scores, **kwargs):
        batch = input_ids.shape[0]
        if self.event.is_set():
            return torch.ones(batch, dtype=torch.bool, device=input_ids.device)
        if not self.stop:
            return torch.zeros(batch, dtype=torch.bool, device=input_ids.device)
        done = []
        for row in input_ids:
            tail = row[max(self.prompt_len, row.shape[0] - self.window):]
            text = self.tokenizer.decode(tail, skip_special_tokens=True)
            done.append(any(s in text for s in self.stop))
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class HFBackend:
    """A causal LM loaded with transformers. ``model`` is a local folder or a hub id."""

    def __init__(
        self,
        model: str,
        *,
        load_in_4bit: bool = False,
        load_in_8bit: bool = False,
        device: str | None = None,
        dtype: str = "auto",
        name: str | None = None,
    ) -> None:
        if load_in_4bit and load_in_8bit:
            raise BackendError("choose either 4-bit or 8-bit loading, not both")
        self.source = model
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.info: dict = {}
        # one event per running generation: cancel() stops those running now, never a later one
        self._active: set[threading.Event] = set()
        self._lock = threading.Lock()
        path = Path(model).expanduser()
        local = path.is_dir()
        if not local and (model.startswith((".", "/", "~")) or model.count("/") > 1 or path.exists()):
            raise BackendError(
                f"no model folder at {model}",
                "give a folder holding config.json and weights (or adapter_config.json), or a hub id such as semcoder/semcoder_s_1030",
            )
        base_id, adapter_dir = model, None
        if local:
            info_file = path / DUCK_INFO_FILE
            if info_file.is_file():
                try:
                    self.info = json.loads(info_file.read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    raise BackendError(f"{info_file} is not valid JSON: {error}", "fix or delete the file") from None
            if (path / ADAPTER_CONFIG).is_file():
                adapter_dir = path
                try:
                    adapter_config = json.loads((path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    raise BackendError(f"{path / ADAPTER_CONFIG} is not valid JSON: {error}") from None
                base_id = self.info.get("base_model") or adapter_config.get("base_model_name_or_path")
                if not base_id:
                    raise BackendError(
                        f"the adapter in {path} does not name its base model",
                        f"add \"base_model\" to {path / DUCK_INFO_FILE} or base_model_name_or_path to {ADAPTER_CONFIG}",
                    )
            elif not (path / "config.json").is_file():
                raise BackendError(
                    f"{path} holds no model: config.json (or adapter_config.json) is missing",
                    "point --model at the folder a training run saved (save_pretrained), not its parent",
                )
            else:
                base_id = str(path)
        if adapter_dir is not None and self.info.get("load_in_4bit") and not load_in_8bit:
            # a QLoRA adapter was trained on a 4-bit base: load the base the way it was trained
            load_in_4bit = True
        self.name = name or f"{self.info.get('name') or path.name or model} (hf)"
        self.tokenizer = self._load_tokenizer(adapter_dir, base_id)
        self.model = self._load_model(base_id, adapter_dir, load_in_4bit, load_in_8bit, dtype)
        self.model.eval()

    # ---- loading -------------------------------------------------------------------------

    def _load_tokenizer(self, adapter_dir: Path | None, base_id: str):
        sources = ([str(adapter_dir)] if adapter_dir and (adapter_dir / "tokenizer_config.json").is_file() else []) + [base_id]
        last: Exception | None = None
        for source in sources:
            try:
                tokenizer = AutoTokenizer.from_pretrained(source)
                break
            except (OSError, ValueError) as error:
                last = error
        else:
            raise BackendError(
                f"could not load the tokenizer of {base_id}: {_first_line(last)}",
                "a hub id works only when the model is in the local Hugging Face cache or the hub is reachable",
            )
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        return tokenizer

    def _load_model(self, base_id: str, adapter_dir: Path | None, load_in_4bit: bool, load_in_8bit: bool, dtype: str):
        torch_dtype = _resolve_dtype(dtype, self.device)
        transformers.utils.logging.disable_progress_bar()  # duck prints its own status, not tqdm bars
        kwargs: dict = {"dtype": torch_dtype}
        if load_in_4bit or load_in_8bit:
            try:
                import bitsandbytes  # noqa: F401
            except ImportError:
                raise BackendError("4-bit/8-bit loading needs bitsandbytes", "pip install bitsandbytes") from None
            kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                load_in_4bit=load_in_4bit,
                load_in_8bit=load_in_8bit,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=torch_dtype,
            )
            kwargs["device_map"] = {"": self.device}
        try:
            model = AutoModelForCausalLM.from_pretrained(base_id, **kwargs)
            if "device_map" not in kwargs:
                model.to(self.device)
            if adapter_dir is not None:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(adapter_dir))
        except torch.OutOfMemoryError:
            raise BackendError(
                f"out of memory loading {base_id} on {self.device}",
                "try --load-in-4bit, a smaller model, or an --endpoint that serves the model",
            ) from None
        except (OSError, ValueError, KeyError) as error:
            raise BackendError(
                f"could not load the model {base_id}: {_first_line(error)}",
                "check that the folder holds config.json and *.safetensors (or the hub id is cached locally)",
            ) from None
        except RuntimeError as error:
            if "out of memory" in str(error).lower():
                raise BackendError(f"out of memory loading {base_id}", "try --load-in-4bit or a smaller model") from None
            raise BackendError(f"could not load the model {base_id}: {_first_line(error)}") from None
        return model

    # ---- generation ----------------------------------------------------------------------

    def _encode(self, prompts: Sequence[str], max_new_tokens: int = 0):
        if self.model is None:
            raise BackendError("this model was closed", "load it again")
        batch = self.tokenizer(list(prompts), return_tensors="pt", padding=True)
        batch.pop("token_type_ids", None)
        limit = getattr(self.model.config, "max_position_embeddings", None)
        length = batch["input_ids"].shape[1]
        if limit and length + max_new_tokens > limit:
            raise BackendError(
                f"the prompt is {length} tokens and the answer may take {max_new_tokens}; the model reads at most {limit}",
                "ask about a smaller part of the run (a call, a loop or a step instead of the whole run)",
            )
        return {k: v.to(self.model.device) for k, v in batch.items()}

    def count_tokens(self, prompt: str) -> int | None:
        return len(self.tokenizer(prompt)["input_ids"])

    def _gen_kwargs(self, inputs, max_new_tokens: int, stop: Sequence[str], temperature: float, n: int,
                    cancel: threading.Event) -> dict:
        kwargs = dict(
            inputs,
            max_new_tokens=max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            stopping_criteria=StoppingCriteriaList(
                [_StopOnEvent(cancel, self.tokenizer, stop, inputs["input_ids"].shape[1])]
            ),
        )
        if temperature and temperature > 0:
            kwargs.update(do_sample=True, temperature=float(temperature), top_p=SAMPLING_TOP_P)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if n > 1:
            kwargs["num_return_sequences"] = n
        return kwargs

    def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 512,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        cancel = threading.Event()
        inputs = self._encode([prompt], max_new_tokens)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = self._gen_kwargs(inputs, max_new_tokens, stop, temperature, 1, cancel)
        kwargs["streamer"] = streamer
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as error:  # reported in the consuming thread
                failure.append(error)
                streamer.on_finalized_text("", stream_end=True)

        thread = threading.Thread(target=run, name="duck-hf-generate", daemon=True)
        scanner = StopScanner(stop)
        ended = False
        self._active.add(cancel)
        with self._lock:
            thread.start()
            try:
                for chunk in streamer:
                    out = scanner.feed(chunk)
                    if out:
                        yield out
                    if scanner.stopped:
                        break
                else:
                    ended = True
                    rest = scanner.flush()
                    if rest:
                        yield rest
            finally:
                # a consumer that stops iterating (the user stepped away) cancels generation
                cancel.set()
                if not ended:
                    for _ in streamer:  # wait for generate() to see the cancel and end the stream
                        pass
                thread.join()
                self._active.discard(cancel)
        if failure:
            raise _as_backend_error(failure[0])

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 512,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        n: int = 1,
        batch_size: int = 8,
    ) -> list[str]:
        cancel = threading.Event()
        results: list[str] = []
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start:start + batch_size]
            inputs = self._encode(chunk, max_new_tokens)
            kwargs = self._gen_kwargs(inputs, max_new_tokens, stop, temperature, n, cancel)
            self._active.add(cancel)
            try:
                with self._lock, torch.inference_mode():
                    output = self.model.generate(**kwargs)
            except Exception as error:
                raise _as_backend_error(error) from None
            finally:
                self._active.discard(cancel)
            new_tokens = output[:, inputs["input_ids"].shape[1]:]
            for text in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True):
                results.append(truncate_at_stop(text, stop)[0])
        return results

    def cancel(self) -> None:
        for event in list(self._active):
            event.set()

    def close(self) -> None:
        self.cancel()
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _resolve_dtype(dtype: str, device: str):
    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16 if device.startswith("cuda") else torch.float32
    try:
        return {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
                "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}[dtype]
    except KeyError:
        raise BackendError(f"unknown dtype {dtype!r}", "use auto, bf16, fp16 or fp32") from None


def _as_backend_error(error: BaseException) -> BackendError:
    if isinstance(error, BackendError):
        return error
    if isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower():
        return BackendError("the model ran out of memory while generating", "use --load-in-4bit, shorter prompts or a smaller model")
    return BackendError(f"generation failed: {type(error).__name__}: {_first_line(error)}")


def _first_line(error: BaseException | None) -> str:
    text = str(error or "").strip()
    return text.splitlines()[0] if text else type(error).__name__
