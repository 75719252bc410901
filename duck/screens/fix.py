"""``FixModal``: a verified fix's diff and explanation, and the question "apply it?".

It returns True only on an explicit yes (``y`` or the Apply button); escape, ``n`` or closing
returns False. Applying (and re-recording) is the app's job, not this screen's.
"""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from duck.widgets.text import printable


class FixModal(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "apply", id="apply-fix"),
        Binding("n,escape", "answer(False)", "keep my file", id="keep-file"),
    ]
    DEFAULT_CSS = """
    FixModal { align: center middle; }
    FixModal > Vertical { width: 90%; height: 90%; border: round $success; background: $surface; }
    FixModal #diff { height: 1fr; }
    FixModal #why { height: auto; max-height: 6; padding: 0 1; }
    FixModal Horizontal { height: auto; align: center middle; }
    FixModal Button { margin: 0 2; }
    """

    def __init__(self, fix) -> None:
        super().__init__()
        self.fix = fix

    def compose(self) -> ComposeResult:
        fix = self.fix
        verified = "verified by re-running the program" if getattr(fix, "verified", False) else "NOT verified"
        with Vertical() as box:
            box.border_title = f"fix for {Path(str(fix.file)).name} ({verified})"
            yield Static(Text(printable(str(getattr(fix, "explanation", "") or ""))), id="why", markup=False)
            with VerticalScroll(id="diff"):
                yield Static(Syntax(printable(fix.diff), "diff", theme="monokai", background_color="default"))
            with Horizontal():
                yield Button("Apply (y)", id="apply", variant="success")
                yield Button("Keep my file (n)", id="keep", variant="default")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply")

    def action_answer(self, apply: bool) -> None:
        self.dismiss(apply)
