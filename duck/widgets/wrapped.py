"""``WrappedText``: a text wrapped to the width of a scrollable area of fixed size.

The panes that show text whose length changes at every step (the explanation, the program's
output) use it instead of a ``Static`` of automatic height: a ``Static`` that grows or shrinks
makes Textual lay the screen out twice, and so paint twice, for one key. Here new text only
repaints this widget (Textual's line API draws the visible rows), and of those only the rows
that changed. It shows text; it does not
know where the text comes from.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from duck.widgets.lines import StyledLines


class WrappedText(StyledLines, ScrollView, can_focus=True):
    """``set_text`` replaces the text and scrolls to its top or its end."""

    DEFAULT_CSS = """
    WrappedText { height: 1fr; width: 1fr; background: $surface; scrollbar-gutter: stable; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = Text()
        self._strips: list[Strip] = []
        self._scroll_mode: str | None = "top"

    def set_text(self, text: Text, *, scroll: str | None = "top") -> None:
        """Show ``text``; ``scroll`` is "top", "end" or None (keep the reader's place).

        When the view neither scrolled nor changed its scrollable size, only the rows on screen
        that look different are redrawn (a new explanation often keeps its first line and the
        blank rows below it)."""
        self.text = text
        self._scroll_mode = scroll
        old, offset, size = self._strips, self.scroll_offset, self.virtual_size
        self._wrap()
        region = self.scrollable_content_region
        if not old or self.scroll_offset != offset or self.virtual_size != size or region.height <= 0:
            self.refresh()
            return
        new, top = self._strips, offset.y
        for y in range(top, top + region.height):
            before = old[y] if y < len(old) else None
            after = new[y] if y < len(new) else None
            if before != after:
                self.refresh(Region(0, y - top, region.width, 1))

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:  # not laid out yet: wrapped on the first resize
            self._strips = []
            return
        console = self.app.console
        lines = console.render_lines(self.text, console.options.update_width(width), pad=False)
        self._strips = [Strip(line) for line in lines]
        height = self.scrollable_content_region.height
        # At least the visible height: a short text then changes no size, so no new layout.
        self.virtual_size = Size(width, max(len(self._strips), height))
        # force: a text that just grew past the pane has no scrollbar until the next layout, and
        # Textual ignores a scroll then (the output pane stayed at the top of a long tail).
        if self._scroll_mode == "top":
            self.scroll_to(y=0, animate=False, immediate=True, force=True)
        elif self._scroll_mode == "end":
            self.scroll_to(y=max(len(self._strips) - height, 0), animate=False, immediate=True, force=True)

    def on_resize(self) -> None:
        self._wrap()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        style = self.line_style
        if index >= len(self._strips):
            return Strip.blank(width, style)
        return self._strips[index].adjust_cell_length(width, style).apply_style(style)
