"""Training throughput of the SemCoder recipe's batching modes, and of the 6.7B architecture
on a GPU.

CPU section (always): the ``tiny`` recipe (2-layer LLaMA, tokenizer trained here) on the
same rows three ways: plain padding, padding-free (flattened rows), and packed (TRL "bfd",
which is padding-free as well). For each it prints the pad fraction of the real batches and
real (non-pad) tokens trained per second over a few optimizer steps. Rows are CRUXEval
forward-prediction questions with their true answers (``../shared/data/cruxeval.jsonl``, or
``--data`` with SemCoder-schema JSONL / corpus folders).

GPU section (only when CUDA exists): the deepseek-coder-6.7b architecture with random
weights, a few real optimizer steps of (a) the QLoRA recipe (4-bit NF4 base + LoRA r=64) and
(b) a full bf16 fine-tune with 8-bit paged AdamW (fits one 80 GB card), printing tokens/s
and peak GPU memory. Needs ~14 GB of scratch disk for the 4-bit load.

Figures are from one run on one machine: compare the ratios within a run. Not a test.

    OMP_NUM_THREADS=1 python benchmarks/trainer_throughput.py
    python benchmarks/trainer_throughput.py --gpu-steps 5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.prompts import ExecutionQuestion, forward_instruction  # noqa: E402
from trainer.config import load_config  # noqa: E402

CRUXEVAL = ROOT / ".." / "shared" / "data" / "cruxeval.jsonl"
PYX = {"nl", "forward", "backward"}


def cruxeval_rows(path: Path, limit: int) -> list[dict]:
    """Forward rows: the CRUXEval program and call, answered with the true output."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            sample = json.loads(line)
            question = ExecutionQuestion(code=sample["code"], call=f"f({sample['input']})")
            answer = f"[ANSWER]\nassert f({sample['input']}) == {sample['output']}\n[/ANSWER]"
            rows.append({"nl": "", "fwd_mnl": forward_instruction(question), "bwd_mnl": "", "response": answer})
            if len(rows) >= limit:
                break
    return rows


def data_paths(args, scratch: Path) -> list[Path]:
    if args.data:
        return args.data
    if not CRUXEVAL.is_file():
        sys.exit(f"no data: {CRUXEVAL} is missing; pass --data")
    path = scratch / "cruxeval-forward.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in cruxeval_rows(CRUXEVAL, args.rows)), encoding="utf-8")
    return [path]


def measure(config, paths: list[Path], out: Path, label: str) -> dict:
    from trainer.batches import count_pads
    from trainer.recipes.semcoder import build_trainer

    trainer, _ = build_trainer(config, paths, out)
    pads = count_pads(trainer, max_batches=config.train.max_steps)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    real_tokens = pads.real  # the batches trained are the ones counted (same seed, same order)
    result = {"mode": label, "pad_fraction": pads.pad_fraction, "real_tokens": real_tokens,
              "seconds": seconds, "tokens_per_s": real_tokens / seconds}
    try:
        import torch

        if torch.cuda.is_available():
            result["peak_gib"] = torch.cuda.max_memory_allocated() / 1024**3
    except ImportError:
        pass
    return result


def cpu_section(args, scratch: Path) -> None:
    paths = data_paths(args, scratch)
    base = load_config("tiny")
    base = dataclasses.replace(base, train=dataclasses.replace(base.train, max_steps=args.cpu_steps, save_steps=10**6, logging_steps=10**6, report_to=[]))
    modes = {
        "padded": dataclasses.replace(base.data, packing=False, padding_free=False),
        "padding-free": dataclasses.replace(base.data, packing=False, padding_free=True),
        "packed (bfd)": dataclasses.replace(base.data, packing=True, padding_free=True),
    }
    results = []
    for label, data in modes.items():
        config = dataclasses.replace(base, data=data)
        results.append(measure(config, paths, scratch / label.split()[0], label))
    reference = results[0]["tokens_per_s"]
    print(f"\nCPU, tiny recipe ({base.tiny.layers} layers, hidden {base.tiny.hidden}), {args.cpu_steps} steps of {base.train.per_device_batch_size} sequences, max_length {base.data.max_length}")
    for r in results:
        print(f"  {r['mode']:<14} pad {r['pad_fraction']:6.1%}   {r['tokens_per_s']:8.0f} real tokens/s   x{r['tokens_per_s'] / reference:.2f} vs padded")


def gpu_section(args, scratch: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    paths = data_paths(args, scratch)
    arch = ROOT / "trainer" / "configs" / "deepseek-coder-6.7b-config.json"
    checkpoint = Path(args.scratch_dir or scratch) / "deepseek-6.7b-random"
    if not (checkpoint / "config.json").is_file():
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(arch), dtype=torch.bfloat16)
        model.save_pretrained(checkpoint)
        del model
        torch.cuda.empty_cache()
    from trainer.tiny import train_tokenizer

    # a tokenizer of the real vocabulary size is not needed for speed: a 32k BPE trained here
    tokenizer = train_tokenizer((json.loads(l)["fwd_mnl"] for l in open(paths[0])), vocab_size=32000)
    tokenizer.save_pretrained(checkpoint)

    print(f"\nGPU {torch.cuda.get_device_name()}, deepseek-coder-6.7b architecture, {args.gpu_steps} optimizer steps")
    for name, optim in (("semcoder-6.7b-qlora", None), ("semcoder-6.7b", "paged_adamw_8bit")):
        config = load_config(name)
        train = dataclasses.replace(config.train, max_steps=args.gpu_steps, per_device_batch_size=args.gpu_batch,
                                    gradient_accumulation_steps=1, num_processes=1, save_steps=10**6, report_to=[],
                                    optim=optim or config.train.optim)
        model = dataclasses.replace(config.model, base=str(checkpoint), architecture=None)
        config = dataclasses.replace(config, model=model, train=train)
        torch.cuda.reset_peak_memory_stats()
        r = measure(config, paths, scratch / name, name)
        print(f"  {name:<22} {r['tokens_per_s']:8.0f} tokens/s   peak {r.get('peak_gib', 0):5.1f} GiB   pad {r['pad_fraction']:.1%}")
        torch.cuda.empty_cache()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", type=Path, help="SemCoder-schema JSONL files or corpus folders")
    parser.add_argument("--rows", type=int, default=400, help="CRUXEval rows to use")
    parser.add_argument("--cpu-steps", type=int, default=12)
    parser.add_argument("--gpu-steps", type=int, default=4)
    parser.add_argument("--gpu-batch", type=int, default=4)
    parser.add_argument("--scratch-dir", help="where the 6.7B random checkpoint is written (GPU section)")
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if not args.skip_cpu:
            cpu_section(args, scratch)
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            has_cuda = False
        if has_cuda:
            gpu_section(args, scratch)
        else:
            print("\nGPU section skipped: no CUDA device on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
