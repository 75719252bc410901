"""``duck-train eval``: score a model (or a file of predictions) on CRUXEval-O/I, HumanEval(+),
MBPP(+) or iterative self-refinement, and print the scores beside the paper's.

This module reads flags and hands over to ``trainer.eval.runner``; it imports no torch (the
backend is loaded inside ``main`` only when a model is given).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from duck.errors import DuckError

BENCHMARKS = ("cruxeval-o", "cruxeval-i", "humaneval", "mbpp", "refine")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=BENCHMARKS, help="what to score")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="registry name, hub id or local folder (a checkpoint from duck-train)")
    source.add_argument("--endpoint", help="URL of an OpenAI-compatible server (vLLM, llama.cpp, ...)")
    source.add_argument("--predictions", metavar="FILE",
                        help="score existing generations: CRUXEval's JSON {\"sample_0\": [...]} or EvalPlus samples JSONL")
    parser.add_argument("--served-model", help="with --endpoint: the model name the server knows")
    parser.add_argument("--data", metavar="PATH", required=True,
                        help="benchmark file: cruxeval.jsonl, HumanEvalPlus.jsonl.gz or MbppPlus.jsonl.gz")
    parser.add_argument("--dataset", choices=("humaneval", "mbpp"),
                        help="refine: which benchmark --data holds (default: guessed from the file name)")
    parser.add_argument("--n", type=int, default=1, help="samples per task (pass@k for k <= n); default 1")
    parser.add_argument("--temperature", type=float, default=None,
                        help="sampling temperature (default 0 = greedy for n=1, 0.8 for n>1)")
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=8, help="prompts per generation batch")
    parser.add_argument("--limit", type=int, help="score only the first N tasks (a quick look)")
    parser.add_argument("--rounds", type=int, default=5, help="refine: rounds of self-refinement (1-5)")
    parser.add_argument("--trace", action="store_true",
                        help="refine: add duck's recording of the failing test to the prompt")
    parser.add_argument("--base-only", action="store_true", help="humaneval/mbpp: skip the plus inputs")
    parser.add_argument("--workers", type=int, default=2, help="checks run at once, each in a fresh sandboxed process")
    parser.add_argument("--check", choices=("literal", "official"), default="literal",
                        help="cruxeval: 'literal' (default) reads predictions as literals and compares values in the "
                             "evaluator; 'official' executes `assert output == prediction` as the official harness does")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="where Landlock is missing, score anyway with only rlimits and a private folder")
    parser.add_argument("--output", metavar="FILE",
                        help="results JSON (default: MODEL_DIR/eval/BENCHMARK.json, or beside --predictions)")
    parser.add_argument("--load-in-4bit", action="store_true", help="load the model NF4-quantised (bitsandbytes)")
    parser.add_argument("--no-vllm", action="store_true", help="do not use vLLM even where it is installed")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")


def main(args: argparse.Namespace) -> int:
    from trainer.eval import report, runner

    if args.n < 1:
        raise DuckError("--n must be at least 1", "pass --n 1 for greedy pass@1, or e.g. --n 10 --temperature 0.8")
    if not 1 <= args.rounds <= 5:
        raise DuckError("--rounds must be between 1 and 5", "SemCoder's self-refinement runs up to 5 rounds")
    if args.temperature is None:
        args.temperature = 0.0 if args.n == 1 else 0.8
    if args.n > 1 and args.temperature == 0:
        raise DuckError("--n > 1 with greedy decoding gives n identical samples",
                        "pass --temperature, e.g. --temperature 0.8")
    if args.json:
        with _stdout_to_stderr():  # libraries that log to stdout must not break the one JSON object
            results = runner.run(args, progress=None)
    else:
        results = runner.run(args, progress=_progress)
    if args.json:
        print(json.dumps(results))
    else:
        print(report.table(results))
        print(f"results: {results['results_file']}")
    return 0


@contextlib.contextmanager
def _stdout_to_stderr():
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
