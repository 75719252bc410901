"""``HelpScreen``: every key the app binds, read from the bindings themselves so it never drifts.

Each row shows the keys as the user's ``[keys]`` table (``duck.keys``) remapped them, and the
binding's id, the name that table uses.
"""

from __future__ import annotations

from typing import Mapping

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from duck.widgets.theme import theme_colour


def key_rows(bindings, keymap: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(keys, description, id) for each binding with a description, keys shown as the user types them
    (``keymap``'s keys where it remaps the binding's id)."""
    keymap = keymap or {}
    rows = []
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        key = keymap.get(binding.id, binding.key) if binding.id else binding.key
        keys = ", ".join(_key_name(k.strip()) for k in key.split(","))
        rows.append((keys, binding.description, binding.id or ""))
    return rows


_NAMES = {"right": "→", "left": "←", "up": "↑", "down": "↓", "left_square_bracket": "[", "right_square_bracket": "]",
          "question_mark": "?", "slash": "/", "backslash": "\\", "enter": "enter", "space": "space"}


def _key_name(key: str) -> str:
    return _NAMES.get(key, key)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close", id="close-help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 95%; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, bindings, extra: list[tuple[str, str]], keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.rows = key_rows(bindings, keymap) + [(keys, description, "") for keys, description in extra]

    def compose(self) -> ComposeResult:
        table = Table(title="duck keys", show_header=True, expand=True, box=None)
        table.add_column("key", style=f"bold {theme_colour(self, 'duck-highlight')}", no_wrap=True)
        table.add_column("what it does")
        table.add_column("id", style="dim", no_wrap=True)
        for keys, description, binding_id in self.rows:
            table.add_row(keys, description, binding_id)
        with VerticalScroll():
            yield Static(table)
            yield Static("escape closes this help. Remap a key by its id in the [keys] table of duck's "
                         "config.toml (README: Keys).", classes="dim")

    def action_dismiss(self) -> None:
        self.dismiss(None)
