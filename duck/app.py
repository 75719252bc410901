"""The duck TUI: walk through a recorded run forward and backward, beside the rubber duck's monologue.

``duck run`` opens it after recording (``duck.commands.run.open_ui``). ``DuckApp`` holds one reactive,
``step`` (plus the frame picked in the call stack); key bindings only change it, and its one
watcher redraws the panes in ``duck.widgets`` from the session for the new position inside one
``batch_update``, so a key is one repaint. (The panes are given plain values rather than each
watching the app: they stay unaware of the app, and no pane is drawn twice for one key.) Each
pane redraws only what changed. The model-free narrator explains in that same handler (it reads
only the recording); a model streams in an exclusive worker as messages tagged with their step
(stale chunks are dropped; stepping away cancels the model's generation). A model loads after
the first paint; fixes are searched and the program is re-recorded in threads. Workers never
touch widgets; they post messages.

This module does not record, explain, search fixes or parse traces itself: the command that
opens the app (``duck.commands.run``, ``duck.commands.replay``) gives it typed
``duck.collaborators.Collaborators``. It never imports the commands or the CLI. Nothing here
imports torch & co.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Tree
from textual.worker import get_current_worker

import duck.screens as screens
from duck.collaborators import Collaborators, Explainer, Model, unexpected
from duck.errors import DuckError
from duck.narration import brief_outcome, describe_outcome, frame_title, return_event
from duck.session import WHOLE_IN_PYTHON
from duck.widgets import (CallStackPane, FixesPane, KeyBar, MonologuePane, OutputPane, SourceView, StatusBar,
                          VariablesPane, WatchesPane)
from duck.widgets.messages import (BackendFailed, BackendLoaded, ExplanationFinished, ExplanationStreamed,
                                   FixSearchFinished, FixVerified, FrameSelected, GutterClicked, LineClicked,
                                   SearchFinished, SessionIndexed, SessionReloaded)
from duck.widgets.theme import THEME_VARIABLES
from models.base import BackendError

#: Keys of Textual's own widgets (not duck's bindings, so not remappable by id), for the help screen.
EXTRA_KEYS = [
    ("tab / shift+tab", "move between panes"),
    ("↑ ↓ (call stack)", "show that frame's locals and position"),
    ("space (variables)", "expand a list, tuple, dict or set, or an object into its attributes"),
    ("enter (variables)", "show the value whole"),
]


#: The key bar's actions, most important first: a narrow terminal drops keys from the end of
#: this list (help and quit stay: they lead to everything else).
KEY_BAR_PRIORITY = ("help", "quit_duck", "step(1)", "step(-1)", "fixes", "jump_to_exception", "step_into",
                    "step_out", "explain", "continue")

#: Traces up to this many steps are indexed before the first screen: in plain Python, quicker
#: than importing numpy (a longer trace paints from its first steps and is indexed in a worker).
_INDEX_AT_ONCE = WHOLE_IN_PYTHON


def _raised_before(session, step: int, look_back: int = 10_000) -> str:
    """The exception a frame that returns at ``step`` without a value was left by: the nearest
    exception event before it (the frame's own, or its callee's where none was recorded there)."""
    for earlier in range(step - 1, max(step - look_back, 0) - 1, -1):
        if session.kind(earlier) == "exception":
            record = session.event(earlier)
            return f"{record.exc_type}: {record.exc_msg or ''}"
    return "an exception"


def _failure(exc: Exception) -> tuple[str, str | None]:
    """What went wrong and what to do: duck's and the backends' errors carry both; any other
    exception (a bug in an explainer) is named by its type."""
    if isinstance(exc, (DuckError, BackendError)):
        return exc.message, exc.hint
    return f"{type(exc).__name__}: {exc}", None


class DuckApp(App[int]):
    """Step through one recorded run, with the ``Collaborators`` the opening command gives it."""

    CSS_PATH = "app.tcss"
    TITLE = "duck"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("n,right", "step(1)", "next", id="step-next"),
        Binding("p,left", "step(-1)", "back", id="step-back"),
        Binding("s", "step_into", "into", id="step-into"),
        Binding("S", "step_into(True)", "step into, backward", show=False, id="step-into-back"),
        Binding("o", "step_over", "over", show=False, id="step-over"),
        Binding("O", "step_over(True)", "step over, backward", show=False, id="step-over-back"),
        Binding("u", "step_out", "out", id="step-out"),
        Binding("U", "step_out(True)", "step out, backward (to the call)", show=False, id="step-out-back"),
        Binding("g", "first", "first step", show=False, id="first-step"),
        Binding("G", "last", "last step", show=False, id="last-step"),
        Binding("e", "jump_to_exception", "exception", id="jump-to-exception"),
        Binding("left_square_bracket", "iteration(-1)", "previous loop iteration", show=False, id="previous-iteration"),
        Binding("right_square_bracket", "iteration(1)", "next loop iteration", show=False, id="next-iteration"),
        Binding("b", "toggle_breakpoint", "breakpoint", show=False, id="toggle-breakpoint"),
        Binding("c", "continue", "continue", id="continue"),
        Binding("C", "continue(True)", "continue backward to a breakpoint", show=False, id="continue-back"),
        Binding("l", "last_change", "where the picked variable, item or attribute (node.value) last changed "
                "(again: the change before)", show=False, id="last-change"),
        Binding("v", "view_value", "show the picked value whole", show=False, id="view-value"),
        Binding("slash", "search", "search", show=False, id="search"),
        Binding("backslash", "search(True)", "search backward", show=False, id="search-back"),
        Binding("w", "add_watch", "add a watch expression on recorded values: total / len(xs), node.next.value, "
                "self.items[0]", show=False, id="add-watch"),
        Binding("W", "clear_watches", "remove all watches", show=False, id="clear-watches"),
        Binding("r", "rerun", "re-run the program (after editing it)", show=False, id="rerun"),
        Binding("x", "explain", "explain", tooltip="explain this step with the model", id="explain"),
        Binding("f", "fixes", "fixes", id="fixes"),
        Binding("question_mark", "help", "help", id="help"),
        Binding("q", "quit_duck", "quit", id="quit"),
        Binding("ctrl+c", "quit_duck", "quit", show=False, id="quit-interrupt"),
    ]

    # repaint=False: a reactive on the App would otherwise repaint the whole screen; the panes
    # that changed refresh themselves, so a step repaints only what it changed.
    step: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)
    selected_frame: reactive[int | None] = reactive(None, init=False, repaint=False)

    def __init__(self, session, collaborators: Collaborators | None = None, *,
                 keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        parts = collaborators if collaborators is not None else Collaborators()
        self.keymap = dict(keymap or {})  # binding id -> keys, from the user's [keys] table (duck.keys)
        self.session = session
        self.narrator: Explainer = parts.narrator
        self.model: Model | None = None
        self.model_loader = parts.model_loader
        self.model_loading = False
        self.fix_searcher = parts.fix_searcher
        self.fix_applier = parts.fix_applier
        self.recorder = parts.recorder
        self.judge = parts.judge
        self.verdict = self.judge(session) if self.judge is not None else None  # the oracle's, on this session
        self.breakpoints: set[tuple[str, int]] = set()
        self.watches: list[str] = []
        self.note = ""
        self.last_search: str = ""
        self.fixes: list = []
        self.errors: list[tuple[str, str | None]] = []
        self.reruns = 0
        self._explain_token = 0
        self._streaming: Model | None = None  # the model whose explanation is streaming now
        self._last_change_name: str | None = None
        self._fix_modal_open = False

    @classmethod
    def binding_ids(cls) -> list[str]:
        """Every id a ``[keys]`` table may remap: the app's bindings, the source view's, the screens'."""
        from duck.screens.fix import FixModal
        from duck.screens.help import HelpScreen
        from duck.screens.prompt import PromptScreen
        from duck.screens.value import ValueScreen

        bindings = [*cls.BINDINGS, *SourceView.BINDINGS, *FixModal.BINDINGS, *HelpScreen.BINDINGS,
                    *PromptScreen.BINDINGS, *ValueScreen.BINDINGS]
        return [binding.id for binding in bindings if isinstance(binding, Binding) and binding.id]

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """duck's own colours (``duck.widgets.theme``); a Textual theme may override each."""
        return dict(THEME_VARIABLES)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SourceView(id="source")
                yield OutputPane(id="output")
            with Vertical(id="right"):
                yield VariablesPane(id="variables")
                yield WatchesPane(id="watches")
                yield CallStackPane(id="stack")
                yield MonologuePane(id="monologue")
                yield FixesPane(id="fixes")
        yield StatusBar(id="status")
        yield KeyBar(KEY_BAR_PRIORITY)

    @property
    def source_view(self) -> SourceView:
        return self.query_one(SourceView)

    @property
    def variables(self) -> VariablesPane:
        return self.query_one(VariablesPane)

    @property
    def monologue(self) -> MonologuePane:
        return self.query_one(MonologuePane)

    @property
    def output(self) -> OutputPane:
        return self.query_one(OutputPane)

    @property
    def call_stack(self) -> CallStackPane:
        return self.query_one(CallStackPane)

    @property
    def fixes_pane(self) -> FixesPane:
        return self.query_one(FixesPane)

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        for widget_id, title in (("source", "source"), ("output", "output"), ("variables", "variables"),
                                 ("watches", "watches"), ("stack", "call stack"), ("monologue", "duck says"),
                                 ("fixes", "fixes")):
            self.query_one(f"#{widget_id}").border_title = title
        self.query_one(WatchesPane).display = False
        self.fixes_pane.display = False
        self.source_view.focus()
        self._begin_indexing()
        self._show_outcome()
        if len(self.session):
            self.step = 0
        else:
            self._show_empty()
        if self.model_loader is not None:
            self.call_after_refresh(self._begin_loading_model)

    def _begin_indexing(self) -> None:
        """A short trace is indexed at once; a long one in a worker, after the first screen has
        painted from what the cursor needs (``on_session_indexed`` then fills in the rest)."""
        if len(self.session) <= _INDEX_AT_ONCE:
            self.session.index_all()
        elif self.session.indexed_fraction < 1.0:
            self.call_after_refresh(self._index_session, self.session)

    @work(thread=True, exclusive=True, group="index")
    def _index_session(self, session) -> None:
        worker = get_current_worker()

        def progress() -> None:
            if session.indexed_fraction < 1.0:
                self.post_message(SessionIndexed(session, session.indexed_fraction))

        session.index_all(should_stop=lambda: worker.is_cancelled, progress=progress)
        if not worker.is_cancelled:
            self.post_message(SessionIndexed(session, 1.0))

    def on_session_indexed(self, message: SessionIndexed) -> None:
        if message.session is not self.session:
            return
        if message.fraction < 1.0:
            return self._show_status()
        self._show_outcome()
        if len(self.session):
            self._show_status()
            self._start_explaining(self.narrator, "step")

    def _show_outcome(self) -> None:
        if self.session.indexed_fraction < 1.0:
            self.monologue.set_outcome(None)  # told once the trace is indexed (on_session_indexed)
            return
        outcome = self.session.outcome
        summary = None
        failed_check = unexpected(self.verdict)
        if outcome.get("outcome") != "finished" or failed_check:
            try:
                summary = f"The program {describe_outcome(self.session, failed_check)}."
            except Exception:  # a reason the narrator cannot read off the values: the brief line stands
                summary = brief_outcome(outcome, failed_check)
        self.monologue.set_outcome(summary)

    def _show_empty(self) -> None:
        """A run that recorded no step (it failed to start): show the error where it happened."""
        outcome = self.session.outcome
        frames = (outcome.get("exception") or {}).get("traceback") or []
        where = frames[-1] if frames else None
        file = str(where.get("file")) if where else str(self.session.header.get("script") or "")
        line = int(where.get("line") or 1) if where else 1
        text = self.session.source(file)
        if not text and file:
            try:
                text = Path(file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
        self.source_view.show(file, text, line, {}, set(), exception=bool(where))
        self.query_one(StatusBar).show(self.session, 0)
        self.monologue.fail(brief_outcome(outcome) + "\n\nNothing was recorded: fix the error "
                            "above (r re-runs the program after you edit it).")
        self.output.show(outcome.get("message") or "", "", ("empty", id(self.session)))

    # ---------------------------------------------------------------- rendering
    def validate_step(self, step: int) -> int:
        return self.session.clamp(step) if len(self.session) else 0

    def watch_step(self, step: int) -> None:
        """The one place a new position is shown: every pane in one batch, so one key is one repaint."""
        if not len(self.session):
            return
        self.note = ""
        with self.batch_update():
            self.set_reactive(DuckApp.selected_frame, self.session.frame(step))
            self._show_position()
            self._start_explaining(self.narrator, "step")

    def watch_selected_frame(self, frame: int | None) -> None:
        if len(self.session):
            with self.batch_update():
                self._show_position()

    def _show_position(self) -> None:
        session, step = self.session, self.step
        frame = self.selected_frame if self.selected_frame is not None else session.frame(step)
        current = frame == session.frame(step)
        file = session.frame_file(frame)
        line = session.frame_line(frame, step)
        self.source_view.show(
            file, session.source(file), line, session.executed_lines(file, upto=step),
            {bp_line for bp_file, bp_line in self.breakpoints if bp_file == file},
            exception=current and session.kind(step) == "exception", current_frame=current,
        )
        values = session.locals_at(step, frame)
        changes = session.changes_at(step) if current else {}
        title = frame_title(session, frame, parens=True) + ("" if current else " (caller)")
        event = None
        kind = session.kind(step)
        if current and kind in ("return", "exception"):
            record = session.event(step)
            if kind == "exception":
                event = ("raises", f"{record.exc_type}: {record.exc_msg or ''}")
            elif record.value is None:  # left by an exception: a return without a value (docs/trace-format.md)
                event = ("raised", _raised_before(session, step))
            else:
                event = return_event(session, step)
        self.variables.show(title, values, changes, (id(session), step, frame), event)
        self.call_stack.show(session, step, frame)
        stdout, stderr = session.output_until(step), session.stderr_until(step)
        self.output.show(stdout, stderr, (id(session), len(stdout), len(stderr)))
        self._show_watches()
        self._show_status()

    def _show_status(self) -> bool:
        """Show the position, the outcome and the note; False when the note did not fit whole."""
        return self.query_one(StatusBar).show(self.session, self.step, self.note, unexpected(self.verdict))

    def _show_watches(self) -> None:
        if not self.watches or not len(self.session):
            self.query_one(WatchesPane).show([])
            return
        from duck.watch import watch_text

        values = self.watch_values()
        self.query_one(WatchesPane).show([(expr, *watch_text(expr, values)) for expr in self.watches])

    def watch_values(self) -> dict[str, str]:
        """Names a watch can use: the module's globals, overridden by the selected frame's locals."""
        session, step = self.session, self.step
        frame = self.selected_frame if self.selected_frame is not None else session.frame(step)
        chain = session.frame_chain(step)
        values = dict(session.locals_at(step, chain[-1])) if chain else {}
        values.update(session.locals_at(step, frame))
        return values

    def say(self, note: str) -> None:
        """A note in the status bar (why a key did nothing); cleared by the next step. A note too
        long for the bar is shown whole in a notification as well (the bar shows its start)."""
        self.note = note
        if not self._show_status():
            self.notify(note, timeout=8)

    def show_error(self, message: str, hint: str | None = None) -> None:
        """The one place failures reach the user: what went wrong, then what to do."""
        self.errors.append((message, hint))
        self.notify(message + (f"\nhint: {hint}" if hint else ""), title="error", severity="error", timeout=8)

    # ----------------------------------------------------------------- stepping
    def _go(self, target: int | None, nowhere: str) -> None:
        if not len(self.session):
            self.say("nothing was recorded")
        elif target is None:
            self.say(nowhere)
        else:
            self._last_change_name = None
            self.step = target

    def action_step(self, delta: int) -> None:
        target = self.step + delta
        self._go(target if 0 <= target < len(self.session) else None,
                 "this is the last step" if delta > 0 else "this is the first step")

    def action_step_into(self, backward: bool = False) -> None:
        if len(self.session):
            self._go(self.session.step_into(self.step, backward), "no step there")

    def action_step_over(self, backward: bool = False) -> None:
        if len(self.session):
            self._go(self.session.step_over(self.step, backward), "no step there")

    def action_step_out(self, backward: bool = False) -> None:
        if len(self.session):
            self._go(self.session.step_out(self.step, backward),
                     "already at the outermost frame's " + ("first" if backward else "last") + " step")

    def action_first(self) -> None:
        self._go(self.session.first() if len(self.session) else None, "")

    def action_last(self) -> None:
        self._go(self.session.last() if len(self.session) else None, "")

    def action_jump_to_exception(self) -> None:
        self._go(self.session.exception_step() if len(self.session) else None, "the run raised no exception")

    def action_iteration(self, delta: int) -> None:
        if not len(self.session):
            return self.say("nothing was recorded")
        if self.session.loop_at(self.step) is None:
            return self.say("not inside a loop")
        if delta > 0:
            self._go(self.session.next_iteration(self.step), "this is the loop's last iteration")
        else:
            self._go(self.session.prev_iteration(self.step), "this is the loop's first iteration")

    def action_toggle_breakpoint(self) -> None:
        view = self.source_view
        if view.file is None or not view.cursor:
            return
        key = (view.file, view.cursor)
        if key in self.breakpoints:
            self.breakpoints.discard(key)
            self.say(f"breakpoint removed from line {view.cursor}")
        else:
            self.breakpoints.add(key)
            self.say(f"breakpoint on line {view.cursor}")
        view.breakpoints = {line for file, line in self.breakpoints if file == view.file}
        view.refresh()

    def action_continue(self, backward: bool = False) -> None:
        if not self.breakpoints:
            return self.say("no breakpoints: move to a line in the source and press b")
        if not len(self.session):
            return self.say("nothing was recorded")
        self._go(self.session.run_to_any(self.step, sorted(self.breakpoints), backward),
                 "no breakpoint is hit " + ("before" if backward else "after") + " this step")

    def on_gutter_clicked(self, message: GutterClicked) -> None:
        self.action_toggle_breakpoint()

    def on_line_clicked(self, message: LineClicked) -> None:
        if not len(self.session):
            return
        target = self.session.run_to_line(self.step, message.file, message.line)
        if target is None:
            earlier = self.session.run_to_line(self.step, message.file, message.line, backward=True)
            self.say(f"line {message.line} does not run after this step"
                     + (" (it ran before: C after b goes back to it)" if earlier is not None else ""))
            return
        self._go(target, "")

    def on_frame_selected(self, message: FrameSelected) -> None:
        if message.step == self.step:
            self.selected_frame = message.frame

    def action_last_change(self) -> None:
        if not len(self.session):
            return
        name = self.variables.selected_path() or self._last_change_name
        if name is None:
            return self.say("pick a variable first (tab to the variables pane, arrows)")
        frame = self.selected_frame
        target = self.session.last_change(name, self.step, frame)
        if target == self.step:
            target = self.session.last_change(name, self.step - 1, frame) if self.step > 0 else None
        if target is None:
            return self.say(f"{name} did not change before this step")
        self.step = target
        self._last_change_name = name
        self.say(f"{name} changed here")

    def action_view_value(self) -> None:
        ref = self.variables.selected_ref()
        if ref is None:
            return self.say("pick a variable first (tab to the variables pane, arrows)")
        title = ref.label if ref.label == ref.name else f"{ref.name} {ref.label}"
        self.push_screen(screens.ValueScreen(title, ref.value))

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if event.node.data is not None:
            self.action_view_value()

    # ------------------------------------------------------------ search, watches
    def action_search(self, backward: bool = False) -> None:
        if not len(self.session):
            return self.say("nothing was recorded")
        question = "search " + ("backward" if backward else "forward") + " for a variable name or a value"
        self.push_screen(screens.PromptScreen(question, self.last_search),
                         lambda text: self._search(text, backward) if text else None)

    def _search(self, text: str, backward: bool) -> None:
        self.last_search = text
        self.say(f"searching for {text!r}…")
        self._search_worker(self.session, text, self.step, backward)

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, session, text: str, step: int, backward: bool) -> None:
        """A whole-word match first (``s`` is the variable ``s``, not every name holding an s), then,
        where there is none that way, ``text`` inside a longer name or value."""
        found = session.search(text, step, backward, whole_word=True)
        whole_word = found is not None
        if not whole_word:
            found = session.search(text, step, backward)
        self.post_message(SearchFinished(text, found, backward, whole_word))

    def on_search_finished(self, message: SearchFinished) -> None:
        if message.step is None:
            self.say(f"no step {'before' if message.backward else 'after'} this one changes {message.text!r}")
        else:
            self.step = message.step
            self.say(f"{message.text!r} found" if message.whole_word
                     else f"{message.text!r} found inside a longer name or value (not as a whole word "
                          f"{'before' if message.backward else 'after'} this step)")

    def action_add_watch(self) -> None:
        self.push_screen(screens.PromptScreen("watch an expression (on recorded values; nothing is run)",
                                      placeholder="total / len(xs)"), self._add_watch)

    def _add_watch(self, expression: str | None) -> None:
        if expression:
            self.watches.append(expression)
            self._show_watches()

    def action_clear_watches(self) -> None:
        self.watches.clear()
        self._show_watches()

    # -------------------------------------------------------------- explanations
    def _start_explaining(self, explainer: Explainer, scope: str) -> None:
        """Explain the current step: the narrator at once, in this handler; a model in a worker.

        The narrator reads only the recording (microseconds a step), so its text is part of the
        same repaint as the step itself. A model streams in an exclusive worker; stepping away
        cancels both the worker and the model's generation (``explainer.cancel()``).
        """
        self._cancel_stream()
        self._explain_token += 1
        name = explainer.name
        if explainer is self.narrator:
            if self.session.indexed_fraction < 1.0:  # narrating reads whole frames: after indexing
                self.monologue.show(name, "reading the rest of the recording; the explanation follows…")
                return
            try:
                text = "".join(explainer.explain(self.session, self.step, scope))
            except Exception as exc:  # the narrator must not take the UI down: shown as an error
                message, hint = _failure(exc)
                self.show_error(message, hint)
                self.monologue.fail(message)
                return
            self.monologue.show(name, text)
            return
        self.monologue.start(name)
        self._streaming = explainer
        self._explain(explainer, self.session, self._explain_token, self.step, scope)

    def _cancel_stream(self) -> None:
        """Stop a model's explanation that is still streaming (the user has moved on)."""
        explainer, self._streaming = self._streaming, None
        if explainer is None:
            return
        self.workers.cancel_group(self, "explain")
        try:
            explainer.cancel()
        except Exception as exc:  # a backend that cannot stop is shown, never fatal
            self.show_error(f"could not stop the model's stream: {type(exc).__name__}: {exc}")

    @work(thread=True, exclusive=True, group="explain")
    def _explain(self, explainer: Model, session, token: int, step: int, scope: str) -> None:
        worker = get_current_worker()
        try:
            for chunk in explainer.explain(session, step, scope):
                if worker.is_cancelled:
                    return
                self.post_message(ExplanationStreamed(token, step, chunk, explainer.name))
        except Exception as exc:  # a model may fail mid-stream; BackendError carries a hint
            if not worker.is_cancelled:
                self.post_message(BackendFailed(*_failure(exc)))
            return
        self.post_message(ExplanationFinished(token, step))

    def on_explanation_streamed(self, message: ExplanationStreamed) -> None:
        if message.token == self._explain_token and message.step == self.step:
            self.monologue.append(message.chunk)

    def on_explanation_finished(self, message: ExplanationFinished) -> None:
        if message.token == self._explain_token:
            self._streaming = None

    def _begin_loading_model(self) -> None:
        self.model_loading = True
        self.say("loading the model…")
        self._load_backend(self.model_loader)

    @work(thread=True, exclusive=True, group="backend")
    def _load_backend(self, loader) -> None:
        try:
            explainer = loader()
        except ImportError as exc:
            self.post_message(BackendFailed(f"model support is not installed ({exc.name or exc})",
                                            "pip install 'semcoder-duck[model]', or use --endpoint URL"))
            return
        except Exception as exc:  # BackendError and friends: shown with their hint
            self.post_message(BackendFailed(*_failure(exc)))
            return
        self.post_message(BackendLoaded(explainer))

    def on_backend_loaded(self, message: BackendLoaded) -> None:
        self.model = message.explainer
        self.model_loading = False
        self.say(f"model ready: {message.explainer.name} (x explains this step)")

    def on_backend_failed(self, message: BackendFailed) -> None:
        self.model_loading = False
        self.show_error(message.message, message.hint)
        if self.is_running:
            self.monologue.fail(f"{message.message}\n(the next step is explained by the narrator again)")

    def action_explain(self) -> None:
        if not len(self.session):
            return self.say("nothing was recorded")
        if self.model is None:
            if self.model_loading:
                return self.say("the model is still loading")
            return self.show_error("no model is loaded, so the narrator explains",
                                   "start with --model NAME|PATH or --endpoint URL to have a model explain")
        scope = "failure" if self.session.kind(self.step) == "exception" else "step"
        self._start_explaining(self.model, scope)

    # ---------------------------------------------------------------------- fixes
    def run_failed(self) -> bool:
        if self.session.outcome.get("outcome") != "finished":
            return True
        return self.verdict is not None and not self.verdict.passed

    def action_fixes(self) -> None:
        if self.fixes:
            self.fixes_pane.focus()
            return
        if self.fix_searcher is None:
            return self.show_error("duck cannot search fixes here", "fixes re-run the program: duck run FILE")
        if not self.run_failed():
            return self.show_error("the run finished and nothing says it is wrong, so there is nothing to fix",
                                   "give --expect TEXT or --test NODEID to say what the program should do")
        self.fixes_pane.display = True
        self.fixes_pane.clear_fixes("searching for fixes (each is re-run before it is shown)…")
        self._search_fixes(self.fix_searcher, self.session)

    @work(thread=True, exclusive=True, group="fixes")
    def _search_fixes(self, searcher, session) -> None:
        worker = get_current_worker()
        found = 0
        try:
            for fix in searcher(session, lambda text: self.call_from_thread(self.say, text),
                                lambda: worker.is_cancelled):  # cancelling the worker stops the candidates
                if worker.is_cancelled:
                    return
                if fix.verified:
                    found += 1
                    self.post_message(FixVerified(fix))
        except DuckError as exc:
            self.post_message(FixSearchFinished(found, (exc.message, exc.hint)))
            return
        except Exception as exc:  # the search must not take the UI down; shown as an error
            self.post_message(FixSearchFinished(found, (f"the fix search failed: {type(exc).__name__}: {exc}",
                                                        "run duck fix FILE to see it in the terminal")))
            return
        self.post_message(FixSearchFinished(found))

    def on_fix_verified(self, message: FixVerified) -> None:
        self.fixes.append(message.fix)
        self.fixes_pane.add_fix(message.fix)
        if len(self.fixes) == 1 and not self._fix_modal_open:
            self._offer_fix(message.fix)

    def on_fix_search_finished(self, message: FixSearchFinished) -> None:
        if message.error:
            self.show_error(*message.error)
        if message.found == 0:
            self.fixes_pane.clear_fixes("no verified fix found")
        else:
            self.fixes_pane.note(f"{message.found} verified fix(es); enter opens one")

    def on_fixes_pane_picked(self, message: FixesPane.Picked) -> None:
        self._offer_fix(message.fix)

    def _offer_fix(self, fix) -> None:
        self._fix_modal_open = True
        self.push_screen(screens.FixModal(fix), lambda apply: self._answer_fix(fix, apply))

    def _answer_fix(self, fix, apply: bool | None) -> None:
        self._fix_modal_open = False
        if not apply:
            self.say("the fix was not applied; your file is unchanged")
            return
        if self.fix_applier is None:
            return self.show_error("duck cannot apply fixes here")
        try:
            backup = self.fix_applier(fix)
        except DuckError as exc:
            return self.show_error(exc.message, exc.hint)
        except OSError as exc:
            return self.show_error(f"cannot write {fix.file}: {exc.strerror or exc}",
                                   "check the file's permissions; nothing was changed")
        self.notify(f"applied to {fix.file}" + (f" (backup: {backup})" if backup else ""), title="fix applied")
        self.fixes.clear()
        self.fixes_pane.display = False
        self.action_rerun()

    # --------------------------------------------------------------------- re-run
    def action_rerun(self) -> None:
        if self.recorder is None:
            return self.show_error("this session cannot be re-run", "it was opened from a trace, not a program")
        self.reruns += 1
        self.say("re-running the program…")
        self._rerun(self.recorder)

    @work(thread=True, exclusive=True, group="rerun")
    def _rerun(self, recorder) -> None:
        try:
            session = recorder()
        except DuckError as exc:
            self.post_message(SessionReloaded(None, (exc.message, exc.hint)))
            return
        except Exception as exc:  # a trace that cannot be read: keep the old session
            self.post_message(SessionReloaded(None, (f"the re-run failed: {type(exc).__name__}: {exc}", None)))
            return
        self.post_message(SessionReloaded(session))

    def on_session_reloaded(self, message: SessionReloaded) -> None:
        if message.session is None:
            return self.show_error(*message.error)
        old_step = self.step
        self.session = message.session
        self.verdict = self.judge(self.session) if self.judge is not None else None
        self.source_view.forget_sources()
        self._begin_indexing()
        self._show_outcome()
        self.fixes.clear()
        if len(self.session):
            self.step = min(old_step, self.session.last())
        else:
            self._show_empty()
        self.say(f"re-ran: {brief_outcome(self.session.outcome, unexpected(self.verdict))}")

    # ----------------------------------------------------------------- help, quit
    def action_help(self) -> None:
        self.push_screen(screens.HelpScreen([*self.BINDINGS, *SourceView.BINDINGS], EXTRA_KEYS, self.keymap))

    def action_quit_duck(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        self._cancel_stream()
        if self.model is not None:
            self.model.close()
