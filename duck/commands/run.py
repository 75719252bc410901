"""``duck run FILE [--] [ARGS...]``: record one run, then step through it.

With a terminal this opens the Textual UI (imported only here, after recording). With
``--plain``, or when standard output is not a terminal, it prints the narrated run, the
model's explanation when a model is configured (flag, environment or config file; it is
loaded before the recording, so a model that cannot be had stops the command at once), and
the verdict of ``--expect``/``--test``. The exit status is the program's (see
``common.exit_status``), or 1 when the oracle says the run was wrong.

This is also where the UI's collaborators are wired (``collaborators``): the real recorder
for re-runs, the fix search, the fix writer, the oracle's judge and the model loader, given
to ``duck.app.DuckApp`` as a typed ``duck.collaborators.Collaborators``. The recording and
every re-run live in one temporary folder (``duck.commands.scratch``) that is removed on every
way out, SIGHUP and SIGTERM included.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from duck.cli_types import output_file
from duck.commands.common import (
    add_limit_arguments,
    add_model_arguments,
    add_oracle_arguments,
    add_target_arguments,
    exit_status,
    request_from_args,
)
from duck.commands.scratch import scratch_folder, stoppable

if TYPE_CHECKING:  # pragma: no cover
    from duck.collaborators import Collaborators, Model
    from duck.repair import Fix
    from duck.repair.oracle import Oracle
    from duck.session import Session
    from duck.trace.runner import RecordRequest


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
    program = request_from_args(args, echo=not plain)
    oracle = _oracle(args)
    request = oracle.prepare(program) if oracle is not None else program  # --test: pytest runs the program
    settings = settings_for(args)  # flags > DUCK_MODEL/DUCK_ENDPOINT > config file
    explainer = prepare_model(settings, load=plain)  # the slow check last, still before recording
    with scratch_folder("duck-") as scratch:
        trace_path = Path(args.save) if args.save else scratch / "run.trace"
        ui_import = None if plain else _import_ui_while_recording()
        with stoppable():  # SIGHUP/SIGTERM stop the program, then duck (the folder goes either way)
            record(request, trace_path)
        session = Session.load(trace_path)
        if plain:
            return run_plain(session, args, oracle, sys.stdout, explainer=explainer)
        ui_import.join()
        recorded = RecordedProgram(program, request, oracle, session, scratch)
        parts = collaborators(program=recorded, oracle=oracle, settings=settings)
        return open_ui(session, parts, args=args, oracle=oracle, settings=settings)


class RecordedProgram:
    """The program ``duck run`` recorded, for the UI's re-runs (``r``, and after a fix) and its fix search.

    ``program`` is the request the flags describe; ``request`` the one recorded (for ``--test``,
    pytest running the test). What the program read the first time is replayed to every re-run
    and to every candidate of the fix search, because the terminal belongs to the UI by then.
    Re-runs are recorded into ``scratch``, the command's temporary folder.
    """

    def __init__(self, program: RecordRequest, request: RecordRequest, oracle: Oracle | None, first: Session,
                 scratch: Path) -> None:
        self.program = program
        self.request = request
        self.oracle = oracle
        self.latest = first
        self.scratch = scratch
        self.reruns = 0

    def _stdin(self, session: Session) -> str | None:
        return session.stdin if self.program.stdin == "inherit" else self.program.stdin

    def rerun(self) -> Session:
        from duck.session import Session
        from duck.trace.runner import record

        self.reruns += 1
        path = self.scratch / f"rerun-{self.reruns}.trace"
        record(self.request.replace(stdin=self._stdin(self.latest), echo=False), path)
        self.latest = Session.load(path)
        return self.latest

    def search_fixes(self, session: Session, progress, should_stop) -> Iterator[Fix]:
        from duck.repair import RepairRequest, search_fixes

        yield from search_fixes(RepairRequest(self.program.replace(stdin=self._stdin(session), echo=False),
                                              oracle=self.oracle, progress=progress, should_stop=should_stop))


def collaborators(*, program: RecordedProgram | None = None, oracle: Oracle | None = None,
                  settings=None) -> Collaborators:
    """The real collaborators of the UI: with a recorded ``program`` (``duck run``) it can re-run
    and fix it; without one (``duck replay``) only the narrator, the model that ``settings``
    (``models.config``) choose and the ``oracle``'s judge."""
    from duck.collaborators import Collaborators

    parts = {"model_loader": model_loader(settings), "judge": oracle.judge if oracle is not None else None}
    if program is not None:
        parts.update(recorder=program.rerun, fix_searcher=program.search_fixes, fix_applier=_apply_fix)
    return Collaborators(**parts)


def model_loader(settings):
    """What loads the model that ``settings`` (``models.config``) choose, in the UI's worker; None when none is chosen."""
    if settings is None or not settings.chosen:
        return None

    def load() -> Model:
        from duck.explain import load_explainer

        return load_explainer(settings)

    return load


def _apply_fix(fix: Fix):
    from duck.repair import apply_fix

    return apply_fix(fix)


def open_ui(session: Session, parts: Collaborators, *, args: argparse.Namespace, oracle: Oracle | None,
            settings=None) -> int:
    """Open the TUI on a recorded ``session``; returns the exit status the command should use.

    With no terminal to read keys from (stdin piped and no /dev/tty), it prints the narrated
    run instead, as ``--plain`` does. The terminal is restored on every way out: q, Ctrl-C, and
    an error inside the app (Textual's driver puts it back before the error is reported).
    """
    if not _terminal_for_input():
        print("note: standard input is not a terminal and /dev/tty cannot be opened, "
              "so duck prints the narrated run instead of opening the UI", file=sys.stderr)
        return run_plain(session, args, oracle, sys.stdout, explainer=prepare_model(settings, load=True))
    from duck.app import DuckApp
    from duck.keys import load_keymap

    app = DuckApp(session, parts, keymap=load_keymap(DuckApp.binding_ids))
    app.run()
    return final_status(app.session, oracle)


def final_status(session: Session, oracle: Oracle | None) -> int:
    """The program's status (of the last re-run, if the user re-ran it), or 1 when an oracle
    (``--expect``/``--test``) says the run was wrong."""
    status = exit_status(session.outcome)
    if oracle is not None and status == 0 and not oracle.judge(session).passed:
        status = 1
    return status


def _terminal_for_input() -> bool:
    """Make fd 0 a terminal for the UI when the program's stdin was piped. False if none can be had."""
    try:
        if os.isatty(0):
            return True
    except OSError:
        pass
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return False
    try:
        os.dup2(fd, 0)
    finally:
        os.close(fd)
    return True


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
    from duck.collaborators import unexpected
    from duck.narration import render_run

    out = _Printable(out)
    verdict = oracle.judge(session) if oracle is not None else None
    out.write(render_run(session, unexpected=unexpected(verdict)))  # a failed verdict leads, in the first line
    out.write("\n")
    status = exit_status(session.outcome)
    if verdict is not None:
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
