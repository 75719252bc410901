"""Time to first token and tokens/s of the transformers backend (``models.hf.HFBackend``).

Default: the tiny 2-layer LLaMA (a tokenizer trained here in seconds, random weights) on CPU,
with a real SemCoder forward prompt. ``--model DIR`` measures a checkpoint you have.
``--arch-6.7b`` builds the deepseek-coder-6.7b / SemCoder architecture with random weights
(no download), saves it to a scratch folder and measures it in bf16 and in 4-bit NF4: it
needs a CUDA GPU with ~16 GB free and ~14 GB of disk.

Prints one line per configuration; figures are from this one run on this machine, so only
their ratios to each other are meaningful across machines. Not a test.

    OMP_NUM_THREADS=1 python benchmarks/model_speed.py
    python benchmarks/model_speed.py --arch-6.7b --new-tokens 128
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.prompts import ExecutionQuestion, forward_prompt  # noqa: E402

SAMPLE = ExecutionQuestion(
    code=(
        "def f(text, sep):\n"
        "    parts = text.split(sep)\n"
        "    result = []\n"
        "    for i, part in enumerate(parts):\n"
        "        if i % 2 == 0:\n"
        "            result.append(part.upper())\n"
        "        else:\n"
        "            result.append(part[::-1])\n"
        "    return sep.join(result)\n"
    ),
    call="f('abc-def-ghi', '-')",
)


def measure(backend, prompt: str, new_tokens: int, runs: int) -> dict:
    """Median time to first streamed chunk and decode tokens/s over ``runs`` runs."""
    import torch

    ttft, rates = [], []
    tokenizer, model = backend.tokenizer, backend.model
    inputs = backend._encode([prompt])
    for _ in range(runs):
        start = time.perf_counter()
        stream = backend.stream(prompt, max_new_tokens=new_tokens)
        next(stream)
        ttft.append(time.perf_counter() - start)
        stream.close()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        rates.append((out.shape[1] - inputs["input_ids"].shape[1]) / elapsed)
    return {"prompt_tokens": int(inputs["input_ids"].shape[1]), "ttft_s": statistics.median(ttft),
            "tokens_per_s": statistics.median(rates)}


def report(label: str, load_s: float, result: dict) -> None:
    print(f"{label:<38} load {load_s:6.2f} s   prompt {result['prompt_tokens']:5d} tok   "
          f"first token {result['ttft_s'] * 1000:8.1f} ms   {result['tokens_per_s']:8.1f} tok/s", flush=True)


def run_one(label: str, model_dir: str, prompt: str, args, **kwargs) -> dict:
    from models.hf import HFBackend

    start = time.perf_counter()
    backend = HFBackend(model_dir, **kwargs)
    load_s = time.perf_counter() - start
    result = measure(backend, prompt, args.new_tokens, args.runs)
    report(label, load_s, result)
    backend.close()
    return result


def build_tiny(folder: Path) -> Path:
    """The tiny LLaMA of the tests: 2 layers, hidden 64, FFN 128 (bitsandbytes' CPU 4-bit kernel
    needs dimensions divisible by its block size), vocab 4096, random weights."""
    import torch
    from transformers import LlamaForCausalLM

    from trainer.tiny import stdlib_texts, tiny_llama_config, train_tokenizer

    tokenizer = train_tokenizer(stdlib_texts(), vocab_size=4096)
    config = tiny_llama_config(len(tokenizer), intermediate=128, bos_token_id=tokenizer.bos_token_id,
                               eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_6_7b(folder: Path) -> Path:
    """The SemCoder 6.7B architecture (deepseek-coder-6.7b-base config), random bf16 weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from trainer.tiny import stdlib_texts, train_tokenizer

    tokenizer = train_tokenizer(stdlib_texts(1_000_000), vocab_size=4096)
    config = LlamaConfig(
        vocab_size=32256, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=16384,
        rope_theta=100000.0, rope_scaling={"type": "linear", "factor": 4.0}, rms_norm_eps=1e-6,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False, torch_dtype="bfloat16",
    )
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    torch.cuda.empty_cache()
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a checkpoint folder to measure instead of the tiny model")
    parser.add_argument("--arch-6.7b", dest="arch", action="store_true", help="the 6.7B architecture, random weights, bf16 and 4-bit (GPU)")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load-in-4bit", action="store_true", help="with --model: also measure 4-bit NF4")
    args = parser.parse_args(argv)

    import torch

    prompt = forward_prompt(SAMPLE)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"# torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else f", {torch.get_num_threads()} threads")
          + f", {args.new_tokens} new tokens, median of {args.runs}")
    if args.arch:
        if device != "cuda":
            print("--arch-6.7b needs a CUDA GPU; none here", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="duck-6.7b-") as scratch:
            folder = build_6_7b(Path(scratch))
            bf16 = run_one("semcoder-6.7b arch, bf16", str(folder), prompt, args)
            nf4 = run_one("semcoder-6.7b arch, 4-bit NF4", str(folder), prompt, args, load_in_4bit=True)
            print(f"4-bit / bf16 tokens/s ratio: {nf4['tokens_per_s'] / bf16['tokens_per_s']:.2f}")
        return 0
    if args.model:
        run_one(f"{args.model}", args.model, prompt, args)
        if args.load_in_4bit:
            run_one(f"{args.model} 4-bit", args.model, prompt, args, load_in_4bit=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="duck-tiny-") as scratch:
        folder = build_tiny(Path(scratch) / "tiny")
        fp32 = run_one("tiny llama (2 layers, h64), fp32", str(folder), prompt, args)
        try:
            nf4 = run_one("tiny llama (2 layers, h64), 4-bit NF4", str(folder), prompt, args, load_in_4bit=True)
            print(f"4-bit / fp32 tokens/s ratio: {nf4['tokens_per_s'] / fp32['tokens_per_s']:.2f}")
        except Exception as error:  # bitsandbytes builds without a CPU 4-bit kernel
            print(f"4-bit NF4 on {device}: not measured ({error})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
