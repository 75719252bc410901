"""One evaluation run from start to end: load the benchmark, get completions (a model, resumable,
or a predictions file), score them in the sandbox, and save the results JSON with the exact
settings used.

This module orchestrates; prompts and scoring rules live in ``trainer.eval.cruxeval`` and
``trainer.eval.evalplus``, generation in ``trainer.eval.generation``.
"""

from __future__ import annotations

import argparse
import datetime
import re
from pathlib import Path
from typing import Callable

from duck.errors import DuckError
from trainer.eval import cruxeval, evalplus, report
from trainer.eval.data import load_cruxeval, load_evalplus
from trainer.eval.generation import (RELEASED_DECODING, GenerationSettings, GenerationStore, generate_all,
                                     load_generation_backend)
from trainer.eval.passk import benchmark_pass_at_k

Progress = Callable[[str], None] | None
COLUMN = {"cruxeval-o": "CRUXEval-O", "cruxeval-i": "CRUXEval-I", "humaneval": "HumanEval", "mbpp": "MBPP"}
#: memory per sandboxed run: EvalPlus allows 4 GB (some canonical outputs are hundreds of MB)
WORKER_MEMORY_MB = 4096
#: imported once per fork server: the job functions and the recorder (refine --trace)
PRELOAD = ("duck.sandbox.jobs", "corpus.jobs", "duck.trace.recorder")
#: what the check of a prediction or a solution gets
CHECK_DESCRIPTION = {
    "literal": "predictions must be literals (read with ast.literal_eval, never run); the benchmark's f runs in "
               "the sandbox and its value is compared in the evaluator, types included",
    "official": "the official harness's check: `assert <output> == <prediction>` executed (in the sandbox)",
}


def open_eval_sandbox(workers: int, *, unsafe: bool = False):
    """The sandbox every check of one evaluation runs in (refuses without Landlock unless ``unsafe``)."""
    from corpus.jobs import open_sandbox
    from duck.sandbox import Policy

    policy = Policy(memory_mb=WORKER_MEMORY_MB, cpu_s=300, file_size_mb=64, processes=16, read_anywhere=False)
    return open_sandbox(workers, policy=policy, preload=PRELOAD, unsafe=unsafe)


def run(args: argparse.Namespace, spec=None, progress: Progress = None) -> dict:
    """Score ``spec``'s model (a ``models.registry.BackendSpec``), or ``args.predictions`` when it is None."""
    results_path = results_file(args)
    settings = {k: v for k, v in sorted(vars(args).items()) if k not in ("func", "json", "command")}
    results = {"benchmark": args.benchmark, "model_name": _model_name(args), "settings": settings,
               "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "results_file": str(results_path)}
    if args.benchmark.startswith("cruxeval"):
        results["check"] = {"name": args.check, "rule": CHECK_DESCRIPTION[args.check]}
    sandbox = open_eval_sandbox(args.workers, unsafe=args.unsafe_no_sandbox)  # refuses before any generation
    backend = None
    if spec is not None:
        try:
            backend = load_generation_backend(spec, use_vllm=False if args.no_vllm else None)
        except BaseException:
            sandbox.close()
            raise
        results["backend"] = getattr(backend, "name", type(backend).__name__)
        results["generations_file"] = str(results_path.with_suffix(".generations.jsonl"))
    try:
        with sandbox as pool:
            if args.benchmark.startswith("cruxeval"):
                _run_cruxeval(args, backend, pool, results, progress)
            elif args.benchmark == "refine":
                _run_refine(args, backend, pool, results, progress)
            else:
                _run_code(args, backend, pool, results, progress)
    finally:
        if backend is not None:
            backend.close()
    report.write_results(results_path, results)
    return results


def results_file(args: argparse.Namespace) -> Path:
    """Where the results JSON goes: --output, else beside the model or the predictions."""
    if args.output:
        return Path(args.output)
    if args.predictions:
        p = Path(args.predictions)
        return p.with_name(f"{p.stem}.eval-{args.benchmark}.json")
    if args.model and Path(args.model).expanduser().is_dir():
        return Path(args.model).expanduser() / "eval" / f"{args.benchmark}.json"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", args.model or args.served_model or args.endpoint or "model")
    return Path("duck-eval") / slug / f"{args.benchmark}.json"


def _model_name(args: argparse.Namespace) -> str:
    if args.predictions:
        return Path(args.predictions).name
    return args.model or f"{args.served_model or 'server'} @ {args.endpoint}"


def decoding(args: argparse.Namespace, phase: str, stop: tuple[str, ...] = ()) -> GenerationSettings:
    """The decoding of one phase (a benchmark, or ``refine-<dataset>``): the released settings
    (``RELEASED_DECODING``) unless a flag overrides them. ``--greedy`` sets temperature 0;
    ``--max-total-tokens 0`` lifts the prompt + answer budget."""
    released = RELEASED_DECODING[phase]
    if getattr(args, "greedy", False):
        temperature = 0.0
    elif args.temperature is not None:
        temperature = args.temperature
    else:
        temperature = released.temperature if args.n == 1 or released.temperature > 0 else 0.8
    if args.n > 1 and temperature == 0:
        raise DuckError("--n > 1 with greedy decoding gives n identical samples",
                        "drop --greedy, or pass --temperature, e.g. --temperature 0.8")
    total = getattr(args, "max_total_tokens", None)
    return GenerationSettings(n=args.n, temperature=temperature, max_new_tokens=args.max_new_tokens or released.max_new_tokens,
                              batch_size=args.batch_size, stop=stop,
                              max_total_tokens=released.max_total_tokens if total is None else (total or None))


def _generate(args, backend, results, items, stop, progress, phase: str, store=None) -> dict[str, list[str]]:
    store = store or GenerationStore(Path(results["generations_file"]))
    report_progress = (lambda done, total: progress(f"generated {done}/{total}")) if progress else None
    settings = decoding(args, phase, stop)
    results.setdefault("decoding", {})[phase] = {
        "temperature": settings.temperature, "top_p": settings.top_p, "max_new_tokens": settings.max_new_tokens,
        "max_total_tokens": settings.max_total_tokens, "n": settings.n, "stop": list(stop)}
    return generate_all(backend, items, settings, store, report_progress)


# ----------------------------------------------------------------------------- CRUXEval
def _run_cruxeval(args, backend, pool, results, progress) -> None:
    mode: cruxeval.Mode = "output" if args.benchmark == "cruxeval-o" else "input"
    samples = load_cruxeval(Path(args.data))[: args.limit]
    if args.predictions:
        from trainer.eval.predictions import read_cruxeval_predictions

        given = read_cruxeval_predictions(Path(args.predictions))
        missing = [s.id for s in samples if s.id not in given]
        if missing and not args.limit:
            raise DuckError(f"{args.predictions} has no predictions for {len(missing)} samples (first: {missing[0]})",
                            "pass a complete generations file, or --limit N to score the first N samples")
        texts = {s.id: given.get(s.id, []) for s in samples}
    else:
        from models.prompts import ANSWER_STOP

        texts = _generate(args, backend, results, [(s.id, cruxeval.prompt(s, mode)) for s in samples],
                          (ANSWER_STOP,), progress, args.benchmark)
    # a task with no prediction at all counts as one failed prediction (never as no task)
    predictions = [[cruxeval.prediction_from_text(t, mode) for t in texts[s.id]] or [None] for s in samples]
    if progress:
        progress(f"scoring {sum(len(p) for p in predictions)} predictions ({args.check} check)")
    correct = cruxeval.score_predictions(pool, samples, predictions, mode, args.check)
    results["scores"] = {COLUMN[args.benchmark]: benchmark_pass_at_k(correct)}
    results["tasks"] = len(samples)
    statuses = [[cruxeval.status(s, p, mode, args.check) for p in preds] for s, preds in zip(samples, predictions)]
    results["missing"] = [s.id for s, row in zip(samples, statuses) if all(x == "missing" for x in row)]
    results["inadmissible"] = sum(x == "inadmissible" for row in statuses for x in row)
    if results["missing"] and progress:
        progress(f"warning: {len(results['missing'])} tasks have no prediction and count as failed "
                 f"(first: {results['missing'][0]})")
    results["per_task"] = {s.id: {"predictions": p, "correct": c, "status": st}
                           for s, p, c, st in zip(samples, predictions, correct, statuses)}


# ----------------------------------------------------------------------------- HumanEval+ / MBPP+
def _code_tasks(args):
    dataset = args.dataset or _guess_dataset(args)
    return dataset, load_evalplus(Path(args.data), dataset)[: args.limit]


def _guess_dataset(args) -> str:
    if args.benchmark in ("humaneval", "mbpp"):
        return args.benchmark
    name = Path(args.data).name.lower()
    if "mbpp" in name:
        return "mbpp"
    if "human" in name:
        return "humaneval"
    raise DuckError(f"cannot tell whether {args.data} is HumanEval+ or MBPP+", "pass --dataset humaneval or --dataset mbpp")


def _solutions(args, backend, results, dataset, tasks, progress) -> dict[str, list[str]]:
    """Each task's programs: from ``--predictions`` as given, else as the model wrote them (the
    task's prompt and the completion; ``_score_code`` sanitizes those, as the released evaluation does)."""
    if args.predictions:
        from trainer.eval.predictions import read_evalplus_samples

        given = read_evalplus_samples(Path(args.predictions))
        out = {}
        for task in tasks:
            rows = given.get(task.task_id, [])
            if not rows and not args.limit:
                raise DuckError(f"{args.predictions} has no sample for {task.task_id}",
                                "pass a complete samples file, or --limit N to score the first N tasks")
            out[task.task_id] = [r["solution"] if "solution" in r else task.prompt + r["completion"] for r in rows]
        return out
    texts = _generate(args, backend, results, [(t.task_id, evalplus.code_prompt(t)) for t in tasks],
                      (evalplus.CODE_STOP,), progress, dataset)
    return {t.task_id: [evalplus.program_from_completion(t, text) for text in texts[t.task_id]] for t in tasks}


def _score_code(pool, tasks, solutions, plus: bool, progress, *, sanitize: bool):
    """Score each task's programs; ``sanitize``: they are what a model wrote, so they are scored as
    the released evaluation scores them (``evalplus.tested_solution``); a predictions file is scored as given."""
    pairs = [(t, evalplus.tested_solution(t, s) if sanitize else s) for t in tasks for s in solutions[t.task_id]]
    if progress:
        progress(f"scoring {len(pairs)} solutions")
    scores = evalplus.EvalPlusScorer(pool).score_solutions(pairs, plus=plus)
    by_task: dict[str, list] = {t.task_id: [] for t in tasks}
    for (task, _), score in zip(pairs, scores):
        by_task[task.task_id].append(score)
    return by_task


def _run_code(args, backend, pool, results, progress) -> None:
    dataset, tasks = _code_tasks(args)
    solutions = _solutions(args, backend, results, dataset, tasks, progress)
    by_task = _score_code(pool, tasks, solutions, not args.base_only, progress, sanitize=not args.predictions)
    column = COLUMN[dataset]
    results["scores"] = {column: benchmark_pass_at_k([[s.base for s in by_task[t.task_id]] for t in tasks])}
    if not args.base_only:
        results["scores"][column + "+"] = benchmark_pass_at_k([[s.plus for s in by_task[t.task_id]] for t in tasks])
    results["tasks"] = len(tasks)
    results["per_task"] = {t.task_id: [{"base": s.base, "plus": s.plus, "reason": s.reason} for s in by_task[t.task_id]]
                           for t in tasks}


# ----------------------------------------------------------------------------- self-refine
def _run_refine(args, backend, pool, results, progress) -> None:
    from models.parse import refined_code
    from models.prompts import REFINED_STOP, refine_prompt

    dataset, tasks = _code_tasks(args)
    if args.n != 1:
        raise DuckError("refine reports greedy pass@1 per round", "drop --n (self-refinement keeps one solution per task)")
    if backend is None:
        raise DuckError("refine needs a model to refine with", "pass --model or --endpoint (round 0 is the model's own solution)")
    # the model's own text is what each round shows it; the sanitized program is what is scored
    current = {t: s[0] for t, s in _solutions(args, backend, results, dataset, tasks, progress).items()}
    store = GenerationStore(Path(results["generations_file"]))
    rounds = []
    by_task = {k: v[0] for k, v in _score_code(pool, tasks, {k: [v] for k, v in current.items()}, True, progress,
                                                sanitize=True).items()}
    rounds.append(_round_entry(0, tasks, by_task))
    for number in range(1, args.rounds + 1):
        failing = [t for t in tasks if not by_task[t.task_id].plus]
        if not failing:
            break
        items = []
        for task in failing:
            score = by_task[task.task_id]
            test = _failed_test(score)
            if args.trace and score.failed_test:
                test += _trace_comment(pool, current[task.task_id], score.failed_test)
            items.append((f"{task.task_id}#round{number}",
                          refine_prompt(task.prompt, current[task.task_id].rstrip("\n"), test)))
        texts = _generate(args, backend, results, items, (REFINED_STOP,), progress, f"refine-{dataset}", store)
        for task in failing:
            code = refined_code(texts[f"{task.task_id}#round{number}"][0])
            if code:
                current[task.task_id] = code
        rescored = _score_code(pool, failing, {t.task_id: [current[t.task_id]] for t in failing}, True, progress,
                               sanitize=True)
        by_task.update({k: v[0] for k, v in rescored.items()})
        rounds.append(_round_entry(number, tasks, by_task))
    column = COLUMN[dataset]
    results["scores"] = {column: {"pass@1": rounds[-1]["pass@1"]}, column + "+": {"pass@1": rounds[-1]["pass@1+"]}}
    results["rounds"] = rounds
    results["tasks"] = len(tasks)
    results["per_task"] = {t.task_id: {"base": by_task[t.task_id].base, "plus": by_task[t.task_id].plus,
                                       "solution": current[t.task_id]} for t in tasks}


def _failed_test(score) -> str:
    """The failing input as the released self-refine prompt shows it (``retv = ...`` then
    ``assert retv == ...``), from the harness's ``assert f(...) == ...``."""
    from models.parse import split_assertion
    from models.prompts import failed_test_text

    parts = split_assertion(score.failed_test) if score.failed_test else None
    if parts is None or not parts.left or not parts.right:
        return f"# the solution fails: {score.reason}\n"
    return failed_test_text(parts.left, parts.right)


def _round_entry(number: int, tasks, by_task) -> dict:
    n = max(len(tasks), 1)
    return {"round": number, "pass@1": round(100.0 * sum(by_task[t.task_id].base for t in tasks) / n, 2),
            "pass@1+": round(100.0 * sum(by_task[t.task_id].plus for t in tasks) / n, 2)}


def _trace_comment(pool, solution: str, failed_test: str) -> str:
    """duck's recording of the failing call, told as in a PyX-R rationale, as comments."""
    from duck.narration import refine_simulation
    from models.parse import split_assertion
    from models.prompts import with_simulation

    parts = split_assertion(failed_test)
    if parts is None or not parts.left:
        return ""
    from corpus.jobs import SampleJob, SampleRunner

    result = SampleRunner(sandbox=pool).run(SampleJob(solution, call=parts.left, trace=True, timeout_s=5.0))
    if not result.events:
        return ""
    return with_simulation("", refine_simulation(result.events, solution, parts.left, filename="<sample>"))
