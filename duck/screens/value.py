"""``ValueScreen``: one recorded value shown whole, wrapped and scrollable (escape closes)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from duck.widgets.text import printable


class ValueScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter,v", "dismiss", "close", id="close-value")]
    DEFAULT_CSS = """
    ValueScreen { align: center middle; }
    ValueScreen > VerticalScroll { width: 90%; height: 80%; border: round $accent; background: $surface;
                                   padding: 0 1; }
    """

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self._title = title
        self._value = value

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self._title
            yield Static(Text(printable(self._value)), markup=False)

    def action_dismiss(self) -> None:
        self.dismiss(None)
