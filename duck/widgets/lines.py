"""``StyledLines``: the widget style a line-API widget draws its rows with, computed once per repaint.

Textual draws a line-API widget (``render_line``) row by row, and a row needs the widget's Rich
style; ``Widget.rich_style`` walks every ancestor's CSS to build it (about 0.1 ms), so asking for
it on each row made a repaint of a pane cost more than drawing its text. A widget that mixes
this in reads ``line_style`` instead: within one ``render_lines`` pass it is the style computed
at the start of the pass; outside a pass (Textual also calls ``render_line`` to find where a
click or a text selection landed) it is computed then. It does not cache across repaints, so a
theme or focus change is drawn at once. It draws nothing itself.
"""

from __future__ import annotations

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip


class StyledLines:
    """Mix into a ``Widget`` subclass before the widget class: ``class View(StyledLines, ScrollView)``."""

    _pass_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pass_style = self.rich_style  # type: ignore[attr-defined]
        try:
            return super().render_lines(crop)  # type: ignore[misc]
        finally:
            self._pass_style = None

    @property
    def line_style(self) -> Style:
        """The widget's Rich style (the background and colour its rows are drawn on)."""
        style = self._pass_style
        return style if style is not None else self.rich_style  # type: ignore[attr-defined]
