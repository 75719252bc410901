"""``HelpScreen``: every key the app binds, read from the bindings themselves so it never drifts."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_rows(bindings) -> list[tuple[str, str]]:
    """(keys, description) for each binding with a description, keys shown as the user types them."""
    rows = []
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = ", ".join(_key_name(k.strip()) for k in binding.key.split(","))
        rows.append((keys, binding.description))
    return rows


_NAMES = {"right": "→", "left": "←", "left_square_bracket": "[", "right_square_bracket": "]",
          "question_mark": "?", "slash": "/", "backslash": "\\", "enter": "enter", "space": "space"}


def _key_name(key: str) -> str:
    return _NAMES.get(key, key)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 95%; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, bindings, extra: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = key_rows(bindings) + extra

    def compose(self) -> ComposeResult:
        table = Table(title="duck keys", show_header=True, expand=True, box=None)
        table.add_column("key", style="bold #ffd75f", no_wrap=True)
        table.add_column("what it does")
        for keys, description in self.rows:
            table.add_row(keys, description)
        with VerticalScroll():
            yield Static(table)
            yield Static("escape closes this help.", classes="dim")

    def action_dismiss(self) -> None:
        self.dismiss(None)
