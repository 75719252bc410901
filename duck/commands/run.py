"""``duck run FILE [--] [ARGS...]``: record one run, then step through it.

With a terminal this opens the Textual UI (imported only here, after recording). With
``--plain``, or when standard output is not a terminal, it prints the narrated run, the
model's explanation when a model is configured (flag, environment or config file; it is
loaded before the recording, so a model that cannot be had stops the command at once), and
the verdict of ``--expect``/``--test``. The exit status is the program's (see
``common.exit_status``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from duck.cli_types import output_file
from duck.commands.common import (
    add_limit_arguments,
    add_model_arguments,
    add_oracle_arguments,
    add_target_arguments,
    exit_status,
    request_from_args,
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--plain", action="store_true",
                        help="print the narrated run instead of opening the UI (the default when output is not a terminal)")
    parser.add_argument("--save", metavar="TRACE", type=output_file,
                        help="keep the recording at this path (open it again with duck replay TRACE)")
    add_oracle_arguments(parser)
    add_model_arguments(parser)
    add_limit_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from duck.session import Session
    from duck.trace.runner import record
    from models.config import settings_for

    plain = args.plain or not sys.stdout.isatty()
    request = request_from_args(args, echo=not plain)
    oracle = _oracle(args)
    if oracle is not None:
        request = oracle.prepare(request)
    settings = settings_for(args)  # flags > DUCK_MODEL/DUCK_ENDPOINT > config file
    explainer = prepare_model(settings, load=plain)  # the slow check last, still before recording
    with tempfile.TemporaryDirectory(prefix="duck-") as scratch:
        trace_path = Path(args.save) if args.save else Path(scratch) / "run.trace"
        ui_import = None if plain else _import_ui_while_recording()
        record(request, trace_path)
        session = Session.load(trace_path)
        if plain:
            return run_plain(session, args, oracle, sys.stdout, explainer=explainer)
        ui_import.join()
        from duck.app import run_app

        return run_app(session, request=request, args=args, oracle=oracle, settings=settings)


def prepare_model(settings, *, load: bool):
    """Before any work: with ``load`` (plain output) the configured model, loaded; for the UI,
    which loads it after its first paint, only the checks that need no loading. None when no
    model is configured. A model that cannot be had is a ``BackendError`` (``error:``/``hint:``)."""
    if settings is None or not settings.chosen:
        return None
    if load:
        from duck.explain import load_explainer

        return load_explainer(settings)
    from models.registry import check_spec, spec_from_settings

    check_spec(spec_from_settings(settings))
    return None


def _import_ui_while_recording() -> threading.Thread:
    """Import the TUI (Textual: ~0.3 s) in a thread while the program runs in its child process.

    The parent only waits for the child meanwhile, so the UI opens that much sooner. A failed
    import here is ignored: the import after recording raises it again, where it is reported.
    """

    def import_ui() -> None:
        try:
            import duck.app  # noqa: F401
        except Exception:  # reported by the import after recording
            pass

    thread = threading.Thread(target=import_ui, name="duck-import-ui", daemon=True)
    thread.start()
    return thread


def _oracle(args: argparse.Namespace):
    if not (args.expect is not None or args.expect_file or args.test):
        return None
    from duck.repair.oracle import oracle_from_args

    return oracle_from_args(args)


def run_plain(session, args: argparse.Namespace, oracle, out, *, explainer=None) -> int:
    """Print the narrated run, then the model's explanation (``explainer``, a loaded model, if
    any) and the oracle's verdict if any. A model that fails while answering makes a run that
    passed exit 1."""
    from duck.narration import render_run

    out = _Printable(out)
    out.write(render_run(session))
    out.write("\n")
    status = exit_status(session.outcome)
    if oracle is not None:
        verdict = oracle.judge(session)
        out.write(f"\n{verdict.describe()}\n")
        if not verdict.passed and status == 0:
            status = 1
    if explainer is not None:
        from duck.explain import stream_plain_explanation

        out.write("\n")
        if stream_plain_explanation(session, explainer, out=out) != 0 and status == 0:
            status = 1
    out.flush()
    return status


class _Printable:
    """A text stream that shows control characters (ANSI escapes the program printed) as escapes.

    ``--plain`` prints the program's output, values and messages; through this they cannot
    drive the terminal, as in the TUI (``duck.text.printable``).
    """

    def __init__(self, out) -> None:
        self._out = out

    def write(self, text: str) -> int:
        from duck.text import printable

        return self._out.write(printable(text))

    def flush(self) -> None:
        self._out.flush()

    def __getattr__(self, name: str):
        return getattr(self._out, name)
