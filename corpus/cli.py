"""``duck-train corpus``: the command line of the corpus stages and of ``build`` (all of them).

Each stage reads the previous stage's shards under ``--out`` and writes its own; finished
shards are skipped, so rerunning a command after Ctrl-C or a crash resumes it. A model is
loaded only when one is configured (``--model``/``--endpoint``, else ``DUCK_MODEL``/
``DUCK_ENDPOINT`` or the config file, as for every command; the offline path needs none), once per
command, and ``build`` runs ``synthesize`` only then. With a model, ``build`` is the paper's
path (synthesize, model-written monologues and PyX-R, each verified by execution); the
synthesize stage may use a second model (``--synthesis-model``/``--synthesis-endpoint``, as
the paper lets one model write the problems and another the monologues). Without one it is
duck's offline path, whose rows say ``"written_by": "template"``. ``--ray`` runs the execute and monologue
stages' sandbox jobs as Ray actor tasks (``corpus.ray_pool``). This module parses arguments and
wires stages; the work is in the stage modules.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from duck.cli_types import output_folder, whole_number
from duck.errors import DuckError

STAGES = ("seeds", "synthesize", "extract", "execute", "monologue", "refine", "dedup", "export")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=output_folder, required=True, help="corpus folder (one subfolder per stage)")
    parser.add_argument("--workers", type=whole_number(1), default=2,
                        help="samples run at once, each in a fresh sandboxed process (default 2)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="where Landlock is missing, run samples anyway with only rlimits and a private folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _seeds_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=Path, nargs="+", default=None, metavar="DIR",
                        help="folders (or .py files) to take seed code from (default: this Python's stdlib)")


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="model name, hub id or folder for monologues (none: rendered from traces)")
    parser.add_argument("--endpoint", default=None, help="OpenAI-compatible server URL (e.g. vLLM)")
    parser.add_argument("--load-in-4bit", action="store_true")
    parser.add_argument("--max-new-tokens", type=whole_number(1), default=1024, metavar="N",
                        help="tokens a model may write per monologue or synthesized sample (default 1024)")
    parser.add_argument("--samples", type=whole_number(1), default=2, help="monologues sampled per question with a model (default 2)")
    parser.add_argument("--synthesize-limit", type=whole_number(1), default=1000, metavar="N",
                        help="seed snippets the synthesize stage shows the model (default 1000)")
    parser.add_argument("--synthesize-retries", type=whole_number(0), default=3, metavar="N",
                        help="times an OSS-Instruct answer that does not run is sent back with its error (default 3)")
    parser.add_argument("--synthesis-model", default=None, metavar="NAME|DIR",
                        help="another model for the synthesize stage (default: the one of --model/--endpoint)")
    parser.add_argument("--synthesis-endpoint", default=None, metavar="URL",
                        help="another OpenAI-compatible server for the synthesize stage")


def _ray_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray", action="store_true",
                        help="run sandbox jobs as Ray tasks (needs the corpus extra: pip install 'semcoder-duck[corpus]')")
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="Ray cluster to join (default: RAY_ADDRESS, else a local Ray started for this command)")


def _dedup_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", type=Path, action="append", default=[], metavar="FILE",
                        help="benchmark file to decontaminate against (HumanEval/MBPP/CRUXEval .jsonl[.gz] or .py); "
                             "repeatable (default: every benchmark file in duck's data folder, see `duck-train data`)")
    parser.add_argument("--no-decontaminate", action="store_true",
                        help="keep samples that share code, problem text or input-output pairs with a benchmark")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="corpus_stage", metavar="STAGE")
    helps = {
        "seeds": "cut functions and snippets from Python files",
        "synthesize": "OSS-Instruct: a model turns seed snippets into problems, solutions and tests (needs --model/--endpoint)",
        "extract": "keep self-contained functions and generate inputs that run (with coverage)",
        "execute": "run every call twice in the sandbox, traced, and keep the deterministic ones",
        "monologue": "forward and backward monologues (model + rejection sampling, or from traces)",
        "refine": "PyX-R: bugs, failed test, rationale and verified fix (the model's, or mutations and templates)",
        "dedup": "exact/near-duplicate removal and benchmark decontamination",
        "export": "write PyX and PyX-R shards in SemCoder's schema, manifest last",
        "build": "run every stage end to end (offline without --model/--endpoint)",
    }
    for name, text in helps.items():
        stage = sub.add_parser(name, help=text, description=text)
        _common(stage)
        if name in ("seeds", "build"):
            _seeds_args(stage)
        if name in ("synthesize", "monologue", "refine", "build"):
            _model_args(stage)
        if name in ("execute", "monologue", "build"):
            _ray_args(stage)
        if name in ("dedup", "build"):
            _dedup_args(stage)


def _pool(args, hash_seed: int = 0, *, ray_ok: bool = False):
    """The sandbox pool of a stage: local workers, or Ray actors with ``--ray`` where allowed."""
    if ray_ok and getattr(args, "ray", False):
        from corpus.ray_pool import RayPool

        return RayPool(workers=args.workers, hash_seed=hash_seed, address=args.ray_address,
                       unsafe=args.unsafe_no_sandbox)
    from corpus.jobs import SampleRunner

    return SampleRunner(args.workers, hash_seed=hash_seed, unsafe=args.unsafe_no_sandbox)


def _model_spec(args):
    """The model the stage's settings choose (flags > DUCK_MODEL/DUCK_ENDPOINT > config file),
    resolved once per command and kept on ``args``; None for stages without model flags."""
    if not hasattr(args, "model_spec"):
        from models.config import settings_for
        from models.registry import spec_from_settings

        args.model_spec = spec_from_settings(settings_for(args)) if hasattr(args, "model") else None
    return args.model_spec


def _wants_model(args) -> bool:
    return _model_spec(args) is not None


def _backend(args):
    """The command's model backend, loaded on first use and kept on ``args`` for later stages."""
    if not _wants_model(args):
        return None
    if getattr(args, "loaded_backend", None) is None:
        from models.base import BackendError
        from models.registry import load_backend

        try:
            args.loaded_backend = load_backend(_model_spec(args))
        except BackendError as error:
            raise DuckError(error.message, error.hint) from None
    return args.loaded_backend


def _synthesis_backend(args):
    """The synthesize stage's model: ``--synthesis-model``/``--synthesis-endpoint`` when given
    (loaded once, kept on ``args``), else the command's model."""
    if not (getattr(args, "synthesis_model", None) or getattr(args, "synthesis_endpoint", None)):
        return _backend(args)
    if getattr(args, "loaded_synthesis_backend", None) is None:
        from models.base import BackendError
        from models.config import resolve_settings
        from models.registry import load_backend, spec_from_settings

        settings = resolve_settings(args.synthesis_model, args.synthesis_endpoint, bool(args.load_in_4bit))
        try:
            args.loaded_synthesis_backend = load_backend(spec_from_settings(settings))
        except BackendError as error:
            raise DuckError(error.message, error.hint) from None
    return args.loaded_synthesis_backend


def _benchmark_files(args) -> list[Path]:
    """What the dedup stage decontaminates against: ``--benchmark`` files, else every benchmark
    file in duck's data folder; none at all only with ``--no-decontaminate``."""
    from corpus import benchmarks

    if args.no_decontaminate:
        if args.benchmark:
            raise DuckError("--benchmark and --no-decontaminate contradict each other", "pass one of them")
        return []
    files = list(args.benchmark) or list(benchmarks.found().values())
    if not files:
        raise DuckError(f"no benchmark files to decontaminate against (none given, none in {benchmarks.data_dir()})",
                        "import them once (duck-train data import --from HumanEvalPlus.jsonl.gz MbppPlus.jsonl.gz "
                        "cruxeval.jsonl), pass --benchmark FILE, or --no-decontaminate to keep every sample")
    return files


def run_stage(name: str, args) -> dict:
    progress = not args.quiet
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if name == "seeds":
        from corpus.seeds import run_seeds

        for folder in args.seeds or []:
            if not folder.exists():
                raise DuckError(f"seed folder {folder} does not exist", "pass folders of .py files with --seeds")
        return run_seeds(out, args.seeds, progress=progress)
    if name == "dedup":
        from corpus.dedup import Benchmarks, run_dedup

        benchmarks = Benchmarks()
        for path in _benchmark_files(args):
            benchmarks.add_file(path)
        return run_dedup(out, benchmarks, progress=progress)
    if name == "export":
        from corpus.export import run_export

        return run_export(out, progress=progress)
    if name == "synthesize":
        from corpus.synthesize import run_synthesize

        backend = _synthesis_backend(args)
        if backend is None:
            raise DuckError("the synthesize stage needs a model",
                            "pass --model NAME|DIR or --endpoint URL (an OpenAI-compatible server such as vLLM)")
        with _pool(args) as pool:
            return run_synthesize(out, pool, backend, limit=args.synthesize_limit, retries=args.synthesize_retries,
                                  max_new_tokens=args.max_new_tokens, progress=progress)
    with _pool(args, ray_ok=name in ("execute", "monologue")) as pool:
        if name == "extract":
            from corpus.extract import run_extract

            return run_extract(out, pool, progress=progress)
        if name == "execute":
            from corpus.execute import run_execute

            with _pool(args, hash_seed=1, ray_ok=True) as other:
                return run_execute(out, pool, other, progress=progress)
        if name == "monologue":
            from corpus.monologue import run_monologue

            return run_monologue(out, pool, backend=_backend(args), samples=getattr(args, "samples", 2),
                                 max_new_tokens=getattr(args, "max_new_tokens", 1024), progress=progress)
        if name == "refine":
            from corpus.refine import run_refine

            return run_refine(out, pool, backend=_backend(args), samples=getattr(args, "samples", 2),
                              max_new_tokens=getattr(args, "max_new_tokens", 1024), progress=progress)
    raise DuckError(f"unknown corpus stage {name!r}")


def main(args) -> int:
    stage = getattr(args, "corpus_stage", None)
    if not stage:
        raise DuckError("no corpus stage given", "try `duck-train corpus build --out DIR` (see --help)")
    names = STAGES if stage == "build" else (stage,)
    if stage == "build" and not (_wants_model(args) or getattr(args, "synthesis_model", None)
                                 or getattr(args, "synthesis_endpoint", None)):
        names = tuple(n for n in names if n != "synthesize")
    stats_path = args.out / "stats.json"
    summary = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    shown = []
    from models.base import BackendError

    try:
        for name in names:
            manifest = run_stage(name, args)
            summary[name] = manifest.get("stats", {})
            shown.append(name)
    except BackendError as error:
        raise DuckError(f"the model failed: {error.message}", error.hint) from None
    finally:
        for name in ("loaded_backend", "loaded_synthesis_backend"):
            if getattr(args, name, None) is not None:
                getattr(args, name).close()
                setattr(args, name, None)
    with open(stats_path, "w", encoding="utf-8") as stream:
        json.dump(summary, stream, indent=2, sort_keys=True)
    if not args.quiet:
        for name in shown:
            stats = summary[name]
            flat = {k: v for k, v in stats.items() if not isinstance(v, dict)}
            print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(flat.items())))
    return 0
