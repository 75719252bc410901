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

from duck.cli_types import input_file, number, output_file, whole_number
from duck.errors import DuckError

BENCHMARKS = ("cruxeval-o", "cruxeval-i", "humaneval", "mbpp", "refine")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", choices=BENCHMARKS, help="what to score")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="registry name, hub id or local folder (a checkpoint from duck-train); "
                        "default: DUCK_MODEL or the config file's model")
    source.add_argument("--endpoint", help="URL of an OpenAI-compatible server (vLLM, llama.cpp, ...); "
                        "default: DUCK_ENDPOINT or the config file's endpoint")
    source.add_argument("--predictions", metavar="FILE", type=input_file,
                        help="score existing generations: CRUXEval's JSON {\"sample_0\": [...]} or EvalPlus samples JSONL")
    parser.add_argument("--served-model", help="with --endpoint: the model name the server knows")
    parser.add_argument("--data", metavar="PATH", type=input_file,
                        help="benchmark file: cruxeval.jsonl, HumanEvalPlus.jsonl.gz or MbppPlus.jsonl.gz "
                             "(default: the benchmark's file in duck's data folder, see `duck-train data`)")
    parser.add_argument("--dataset", choices=("humaneval", "mbpp"),
                        help="refine: which benchmark --data holds (default: guessed from the file name)")
    parser.add_argument("--n", type=whole_number(1), default=1, help="samples per task (pass@k for k <= n); default 1")
    parser.add_argument("--temperature", type=number(0, inclusive=True), default=None,
                        help="sampling temperature (default: the released setting per benchmark: CRUXEval 0.2, "
                             "HumanEval/MBPP 0 = greedy, refine rounds 0.6 on HumanEval and 0.8 on MBPP)")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding (temperature 0) whatever the benchmark")
    parser.add_argument("--max-new-tokens", type=whole_number(1), default=None,
                        help="cap on new tokens (default: the released 4096 for CRUXEval, 512 otherwise)")
    parser.add_argument("--max-total-tokens", type=whole_number(0), default=None,
                        help="prompt + answer tokens (default: the released 4096 for CRUXEval, none otherwise; 0 = none)")
    parser.add_argument("--batch-size", type=whole_number(1), default=8, help="prompts per generation batch")
    parser.add_argument("--limit", type=whole_number(1), help="score only the first N tasks (a quick look)")
    parser.add_argument("--rounds", type=whole_number(1, 5, hint="SemCoder's self-refinement runs 1 to 5 rounds"), default=5,
                        help="refine: rounds of self-refinement (1-5)")
    parser.add_argument("--trace", action="store_true",
                        help="refine: add duck's recording of the failing test to the prompt")
    parser.add_argument("--base-only", action="store_true", help="humaneval/mbpp: skip the plus inputs")
    parser.add_argument("--workers", type=whole_number(1), default=2, help="sandbox worker processes for scoring")
    parser.add_argument("--output", metavar="FILE", type=output_file,
                        help="results JSON (default: MODEL_DIR/eval/BENCHMARK.json, or beside --predictions)")
    parser.add_argument("--load-in-4bit", action="store_true", help="load the model NF4-quantised (bitsandbytes)")
    parser.add_argument("--no-vllm", action="store_true", help="do not use vLLM even where it is installed")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")


def main(args: argparse.Namespace) -> int:
    from trainer.eval import report, runner

    if args.data is None:
        args.data = str(_kept_file(args))
    if args.greedy and args.temperature is not None:
        raise DuckError("--greedy and --temperature contradict each other", "pass one of them")
    spec = None if args.predictions else _model_spec(args)
    if args.json:
        with _stdout_to_stderr():  # libraries that log to stdout must not break the one JSON object
            results = runner.run(args, spec, progress=None)
    else:
        results = runner.run(args, spec, progress=_progress)
    if args.json:
        print(json.dumps(results))
    else:
        print(report.table(results))
        print(f"results: {results['results_file']}")
    return 0


def _kept_file(args: argparse.Namespace):
    """The benchmark's file in duck's data folder (``corpus.benchmarks``)."""
    from corpus.benchmarks import benchmark_file

    if args.benchmark == "refine" and not args.dataset:
        raise DuckError("refine needs to know which benchmark to refine on", "pass --dataset humaneval|mbpp, or --data FILE")
    name = "cruxeval" if args.benchmark.startswith("cruxeval") else (args.dataset or args.benchmark)
    return benchmark_file(name)


def _model_spec(args: argparse.Namespace):
    """The model to score, as every command resolves it (flags > DUCK_MODEL/DUCK_ENDPOINT/DUCK_API_KEY >
    the config file and its ``[models]`` names). ``--served-model`` names the model on ``--endpoint``.
    ``args.model``/``args.endpoint`` are set to the choice, for the results' file name and record."""
    from models.config import resolve_settings
    from models.registry import spec_from_settings

    settings = resolve_settings(args.model or args.served_model, args.endpoint, args.load_in_4bit)
    spec = spec_from_settings(settings)
    if spec is None:
        raise DuckError("nothing to score: no model, server or predictions given",
                        "pass --model NAME|DIR, --endpoint URL or --predictions FILE, or set DUCK_MODEL / DUCK_ENDPOINT")
    if settings.endpoint:
        args.model, args.endpoint, args.served_model = None, settings.endpoint, settings.model
    else:
        args.model = settings.model
    return spec


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
