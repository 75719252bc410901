"""``FixesPane``: the verified fixes found so far, one row each; enter opens a fix's diff.

It lists what the fix search posted (``FixVerified``); it does not search, verify or apply.
Hidden until a search starts.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from duck.widgets.text import elide
from duck.widgets.theme import THEME_VARIABLES, theme_colour


def fix_label(fix, colour: str = THEME_VARIABLES["duck-success"]) -> Text:
    """One line that tells fixes apart: where (file:line), the edit in short, what it rests on;
    ``colour``: the verified mark's (the theme's duck-success in the app)."""
    where = fix.where() if hasattr(fix, "where") else Path(str(fix.file)).name
    edit = elide(str(getattr(fix, "description", "") or "a fix").split(" (line ")[0], 40)
    evidence = fix.evidence() if hasattr(fix, "evidence") else ""
    return Text.assemble(("✓ " if getattr(fix, "verified", False) else "? ", f"bold {colour}"),
                         (where, "bold"), "  ", edit,
                         (f"  {elide(evidence, 50)}" if evidence else "", "dim"),
                         (f"  ({fix.origin})" if getattr(fix, "origin", None) else "", "dim"))


class FixesPane(OptionList):
    DEFAULT_CSS = """
    FixesPane { background: $surface; height: auto; max-height: 6; }
    """

    class Picked(Message):
        def __init__(self, fix) -> None:
            super().__init__()
            self.fix = fix

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fixes: list = []

    def clear_fixes(self, note: str) -> None:
        self.fixes = []
        self.clear_options()
        self.add_option(Option(Text(note, "italic"), disabled=True))

    def add_fix(self, fix) -> None:
        if not self.fixes:
            self.clear_options()
        self.fixes.append(fix)
        self.add_option(Option(fix_label(fix, theme_colour(self, "duck-success"))))

    def note(self, text: str) -> None:
        self.add_option(Option(Text(text, "italic dim"), disabled=True))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self.fixes):
            self.post_message(self.Picked(self.fixes[event.option_index]))
