"""``duck fix FILE [-- ARGS] [--expect TEXT|--expect-file F|--test NODEID]``: print verified fixes.

Runs the repair search (``duck.repair.search``) and prints each verified fix as a unified
diff with the explanation of where the fixed run departs from the buggy one (``--json``
for machines). Every run, the buggy program's too, is confined to a copy of its folder
(``duck.repair.verify``); the report notes where the program tried to write outside it.
Without ``--apply`` no file of the user's is touched; with it the best fix is written
atomically in the file's own encoding and line endings, and a backup is kept. Exit status:
0 when a fix was found (or there was nothing to fix), 1 when none was found. The program's
standard input is the ``--stdin`` file; without it the buggy run reads duck's own stdin (a
pipe, or the terminal: the run's output is then shown so the user sees its prompts) and what
it read is replayed to every candidate, so every run sees the same input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from duck.commands.common import (
    add_limit_arguments,
    add_model_arguments,
    add_oracle_arguments,
    add_target_arguments,
    request_from_args,
)
from duck.cli_types import number, whole_number
from duck.errors import DuckError


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    add_oracle_arguments(parser)
    group = parser.add_argument_group("search")
    group.add_argument("--apply", action="store_true",
                       help="write the best verified fix into FILE (atomically, keeping FILE.duck-backup)")
    group.add_argument("--json", action="store_true", help="print the result as one JSON object")
    group.add_argument("--max-candidates", type=whole_number(0), default=600, metavar="N",
                       help="re-run at most N model-free candidates (default 600)")
    group.add_argument("--max-fixes", type=whole_number(1), default=3, metavar="N",
                       help="stop after N verified fixes (default 3)")
    group.add_argument("--time-budget", type=number(0), default=120.0, metavar="SECONDS",
                       help="stop searching after this long (default 120)")
    group.add_argument("--jobs", type=whole_number(1), default=None, metavar="N",
                       help="candidates re-run at the same time (default: one per CPU core)")
    group.add_argument("--problem", metavar="TEXT", help="what the program should do (for a model's prompt)")
    add_model_arguments(parser)
    add_limit_arguments(parser)


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _backend(args: argparse.Namespace):
    """The model the command's settings choose (flags > environment > config file), loaded; or None."""
    from models.base import BackendError
    from models.config import settings_for
    from models.registry import load_backend, spec_from_settings

    spec = spec_from_settings(settings_for(args))
    if spec is None:
        return None
    try:
        return load_backend(spec)
    except BackendError as exc:
        raise DuckError(f"cannot load the model: {exc.message}",
                        exc.hint or "check --model/--endpoint, DUCK_MODEL/DUCK_ENDPOINT or the config file") from None


def main(args: argparse.Namespace) -> int:
    from duck.repair import RepairRequest, apply_fix, search
    from duck.repair.oracle import oracle_from_args
    from duck.trace.runner import check_script

    record = request_from_args(args)  # without --stdin: "inherit", recorded once, then replayed (duck.repair.search)
    if record.stdin not in (None, "inherit"):
        try:
            record.stdin.encode("utf-8")
        except UnicodeEncodeError:  # the candidates' runs replay it as UTF-8 text
            raise DuckError(f"--stdin file {args.stdin} is not UTF-8 text, which duck fix replays to every candidate",
                            "give a UTF-8 text file; duck run and duck record take any bytes") from None
    file = record.script
    cannot_start = check_script(file)
    if cannot_start is not None:
        raise DuckError(cannot_start["message"], cannot_start.get("hint"))
    oracle = oracle_from_args(args)
    progress = None if args.json else (lambda text: print(f"duck: {text}", file=sys.stderr, flush=True))
    backend = _backend(args)
    echo = record.stdin == "inherit" and not args.json and _is_terminal(sys.stdin)
    try:
        result = search(RepairRequest(
            record.replace(echo=echo), oracle=oracle,
            max_candidates=args.max_candidates, max_fixes=args.max_fixes, time_budget_s=args.time_budget,
            jobs=args.jobs, backend=backend, problem=args.problem, progress=progress))
    finally:
        if backend is not None:
            backend.close()
    backup = None
    if args.apply and result.fixes:
        backup = apply_fix(result.fixes[0])
    if args.json:
        print(json.dumps({
            "file": str(file), "oracle": result.oracle, "failed": not result.already_passing,
            "verdict": result.baseline_verdict.reason,
            "fixes": [fix.to_dict() for fix in result.fixes],
            "unverified": [fix.to_dict() for fix in result.unverified],
            "suspicious_lines": [s.line for s in result.suspects[:10]],
            "candidates_run": result.candidates_run, "recorded_runs": result.recorded_runs,
            "stopped": result.stopped, "duration_s": round(result.duration_s, 3), "why_first": result.why_first,
            "verified_count": result.verified_count,
            "applied": str(result.fixes[0].file) if backup else None, "backup": str(backup) if backup else None,
            "notes": result.notes,
        }, indent=2))
        return 0 if result.already_passing or result.fixes else 1
    return _print_human(file, result, backup)


_ORACLE_WORDS = {"test": "the pytest test (--test)", "expect": "the expected output (--expect)",
                 "asserts": "the program's own asserts", "exit": "no exception and exit status 0"}


def _no_fix_hint(oracle: str) -> str:
    """What to try next when no fix was found, given the oracle that was used."""
    if oracle in ("test", "expect"):
        return ("hint: try a larger --time-budget or --max-candidates, a model with --model/--endpoint, "
                "or a stronger oracle (more asserts in the test)\n")
    return ("hint: state what the program should do with --expect or --test, or try a model "
            "with --model/--endpoint\n")


def _shown(fixed: Path, program: Path) -> Path:
    """The fixed file as the user named the program: the program itself, or a file beside it."""
    if Path(fixed).resolve() == program.resolve():
        return program
    try:
        return program.parent / Path(fixed).resolve().relative_to(program.resolve().parent)
    except ValueError:
        return Path(fixed)


def _print_human(file: Path, result, backup) -> int:
    out = sys.stdout
    for note in result.notes:
        out.write(note + "\n")
    if result.already_passing:
        out.write(f"nothing to fix: {file} already passes ({result.oracle}: {result.baseline_verdict.reason})\n")
        return 0
    stopped = {"deadline": "; the time budget ran out (--time-budget)", "cancelled": "; the search was stopped"}
    if not result.fixes:
        out.write(f"no verified fix found for {file} after {result.candidates_run} candidate run(s) "
                  f"in {result.duration_s:.1f} s ({result.baseline_verdict.reason}"
                  f"{stopped.get(result.stopped or '', '')})\n")
        for fix in result.unverified:
            out.write(f"\nUNVERIFIED proposal ({fix.description}), not a fix: {fix.explanation}\n{fix.diff}")
        out.write(_no_fix_hint(result.oracle))
        return 1
    shown = (f"{len(result.fixes)} verified fix(es)" if result.verified_count <= len(result.fixes)
             else f"the best {len(result.fixes)} of {result.verified_count} verified fixes")
    out.write(f"{shown} for {file} ({result.candidates_run} candidate runs, "
              f"{result.duration_s:.1f} s; oracle: {_ORACLE_WORDS.get(result.oracle, result.oracle)})\n")
    for rank, fix in enumerate(result.fixes, start=1):
        out.write(f"\n=== fix {rank}{' (best)' if rank == 1 else ''}: {fix.where()} {fix.description} [{fix.origin}]\n")
        out.write(fix.diff)
        out.write(f"why: {fix.explanation}\n")
        if fix.evidence():
            out.write(f"evidence: {fix.evidence()}\n")
    if result.why_first:
        out.write(f"\nfix 1 is first because {result.why_first}.\n")
    for fix in result.unverified:
        out.write(f"\nUNVERIFIED proposal ({fix.description}), not a fix: {fix.explanation}\n")
    if backup is not None:
        out.write(f"\napplied fix 1 to {_shown(result.fixes[0].file, file)}; the original is kept at {backup}\n")
    else:
        out.write(f"\nnothing was written; run again with --apply to write fix 1 into "
                  f"{_shown(result.fixes[0].file, file)}\n")
    return 0
