"""``WatchesPane``: watch expressions and their values at the current step.

Values come from ``duck.watch.evaluate`` over the recorded values only; this pane never runs
the user's code. Hidden while there are no watches.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from duck.widgets.text import elide


class WatchesPane(Static):
    DEFAULT_CSS = """
    WatchesPane { background: $surface; height: auto; max-height: 6; }
    """

    _shown: list | None = None

    def show(self, results: list[tuple[str, str, bool]]) -> None:
        """``results``: (expression, value or reason, available). Nothing is redrawn if they are the same."""
        if results == self._shown:
            return
        self._shown = results
        self.display = bool(results)
        text = Text()
        for k, (expr, value, ok) in enumerate(results):
            if k:
                text.append("\n")
            text.append(elide(expr, 30), "bold")
            text.append(" = ")
            text.append(elide(value, 60), "" if ok else "italic dim")
        self.update(text)
