"""``SourceView``: the recorded source of one file, with the current line, hit counts and breakpoints.

It draws only the rows on screen (Textual's line API), so a 10,000-line file costs no more per
step than a 10-line one. Syntax highlighting is done with Pygments in blocks of lines, on first
sight of a block, and cached with the rendered segments of each line, so a step only redraws
the gutter and restyles the current line. Pygments (its import and its first lexing, ~0.1 s)
is loaded just after the first paint: until then lines are drawn plain. The gutter shows a
breakpoint dot, the line number, and how many times the line had started running up to the
current step. The view does not step: clicking a line's text posts ``LineClicked``, clicking
its gutter posts ``GutterClicked``, and the app decides what those mean.
"""

from __future__ import annotations

from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from duck.widgets.lines import StyledLines
from duck.widgets.messages import GutterClicked, LineClicked
from duck.widgets.text import printable
from duck.widgets.theme import theme_colour

BLOCK = 200  # lines highlighted at a time
CURSOR = Style(underline=True)


class Palette:
    """The view's Rich styles, built from the app's theme variables (``duck.widgets.theme``)."""

    def __init__(self, widget) -> None:
        def colour(name: str) -> str:
            return theme_colour(widget, name)

        self.current = Style(bgcolor=colour("duck-current-line"), bold=True)
        self.selected_frame = Style(bgcolor=colour("duck-caller-line"))
        self.gutter = Style(color=colour("duck-gutter"))
        self.hit = Style(color=colour("duck-count"))
        self.breakpoint = Style(color=colour("duck-error"), bold=True)
        self.marker = Style(color=colour("duck-highlight"), bold=True)
        self.exception = Style(bgcolor=colour("duck-exception-line"), bold=True)


@lru_cache(maxsize=1)
def _token_styles():
    from pygments.styles import get_style_by_name

    style = get_style_by_name("monokai")
    styles = {}
    for token, spec in style:
        color = f"#{spec['color']}" if spec["color"] else None
        styles[token] = Style(color=color, bold=spec["bold"] or None, italic=spec["italic"] or None)
    return styles


_highlighting = {"ready": False}


def load_highlighting() -> None:
    """Import Pygments and compile its Python lexer (slow the first time); then lines are highlighted."""
    from pygments.lexers import PythonLexer

    _token_styles()
    list(PythonLexer().get_tokens("x = 1\n"))
    _highlighting["ready"] = True


class HighlightedSource:
    """The lines of one source text, highlighted block by block on demand."""

    def __init__(self, text: str) -> None:
        self.lines = printable(text).split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self._blocks: dict[int, list[Text]] = {}
        self._segments: dict[int, list[Segment]] = {}
        self.width = max(map(len, self.lines), default=0)

    def __len__(self) -> int:
        return len(self.lines)

    def line(self, index: int) -> Text:
        if not _highlighting["ready"]:
            return Text(self.lines[index])
        block = index // BLOCK
        texts = self._blocks.get(block)
        if texts is None:
            texts = self._blocks[block] = self._highlight(block)
        return texts[index - block * BLOCK]

    def forget_plain(self) -> None:
        """Drop lines rendered before highlighting was loaded."""
        if not self._blocks:
            self._segments.clear()

    def segments(self, index: int, console) -> list[Segment]:
        """Line ``index`` rendered (highlighted, unstyled by the cursor), cached."""
        segments = self._segments.get(index)
        if segments is None:
            segments = self._segments[index] = list(self.line(index).render(console))
        return segments

    def _highlight(self, block: int) -> list[Text]:
        from pygments.lexers import PythonLexer

        chunk = self.lines[block * BLOCK:(block + 1) * BLOCK]
        styles = _token_styles()
        texts = [Text() for _ in chunk]
        row = 0
        for token, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens("\n".join(chunk)):
            style = styles.get(token)
            while style is None and token.parent is not None:
                token = token.parent
                style = styles.get(token)
            parts = value.split("\n")
            for k, part in enumerate(parts):
                if k:
                    row += 1
                if part and row < len(texts):
                    texts[row].append(part, style)
        return texts


class SourceView(StyledLines, ScrollView, can_focus=True):
    """The source pane. ``show`` points it at a file and line; ``cursor`` is the line ``b`` acts on."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "move the line cursor up (source; b and enter act on it)", show=False, id="cursor-up"),
        Binding("down,j", "cursor(1)", "move the line cursor down (source)", show=False, id="cursor-down"),
        Binding("pageup", "cursor(-20)", show=False, id="page-up"),
        Binding("pagedown", "cursor(20)", show=False, id="page-down"),
        Binding("enter", "run_to_cursor", "run to the cursor line's next execution (source; or click it)", show=False, id="run-to-line"),
    ]

    DEFAULT_CSS = """
    SourceView { background: $surface; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.file: str | None = None
        self.line = 0
        self.cursor = 0
        self.hits: dict[int, int] = {}
        self.breakpoints: set[int] = set()
        self.exception_line = False
        self.is_current_frame = True
        self._sources: dict[str, HighlightedSource] = {}
        self._text = HighlightedSource("")
        self._palette: tuple[str, Palette] | None = None  # (theme name, its styles)

    @property
    def palette(self) -> Palette:
        """The styles for the app's current theme, rebuilt when the theme changes."""
        theme = self.app.theme
        if self._palette is None or self._palette[0] != theme:
            self._palette = (theme, Palette(self))
        return self._palette[1]

    def on_mount(self) -> None:
        if not _highlighting["ready"]:
            self.call_after_refresh(self._highlight_after_first_paint)

    def _highlight_after_first_paint(self) -> None:
        load_highlighting()
        for source in self._sources.values():
            source.forget_plain()
        self._text.forget_plain()
        self.refresh()

    def forget_sources(self) -> None:
        """Drop the texts shown so far (a re-run recorded the files as they are now): the next
        ``show`` reads its text again, also for the file shown now."""
        self._sources.clear()
        self.file = None
        self._text = HighlightedSource("")

    @property
    def lines(self) -> list[str]:
        """The lines of the file shown now (as shown: control characters escaped)."""
        return list(self._text.lines)

    def show(self, file: str, text: str, line: int, hits: dict[int, int], breakpoints: set[int], *,
             exception: bool = False, current_frame: bool = True) -> None:
        """Point the view at ``line`` of ``file``. Within the same file and scroll position only the
        rows that look different (old and new current line, changed hit counts) are redrawn."""
        before = (self.file, self.exception_line, self.is_current_frame, self.breakpoints, self.scroll_offset)
        old_rows = {self.line, self.cursor}
        old_hits = self.hits
        if file != self.file:
            source = self._sources.get(file)
            if source is None:
                source = self._sources[file] = HighlightedSource(text)
            self._text = source
            self.file = file
        self.line = line
        self.cursor = line
        self.hits = hits
        self.breakpoints = breakpoints
        self.exception_line = exception
        self.is_current_frame = current_frame
        self.virtual_size = Size(self._text.width + self._gutter_width() + 1, len(self._text))
        self._reveal(line)
        if before != (file, exception, current_frame, breakpoints, self.scroll_offset):
            self.refresh()
            return
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        rows = {number for number in range(top + 1, top + height + 1) if old_hits.get(number) != hits.get(number)}
        for number in rows | old_rows | {line}:
            if top < number <= top + height:
                self.refresh(Region(0, number - 1 - top, self.scrollable_content_region.width, 1))

    def _gutter_width(self) -> int:
        return 2 + len(str(max(len(self._text), 1))) + 1 + 4 + 1

    def _reveal(self, line: int) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:  # not laid out yet: reveal once it has a size
            self.call_after_refresh(self._reveal_current)
            return
        top = self.scroll_offset.y
        row = line - 1
        if not top <= row < top + height:
            self.scroll_to(y=max(row - height // 3, 0), animate=False, immediate=True)

    def _reveal_current(self) -> None:
        if self.scrollable_content_region.height > 0:
            self._reveal(self.line)

    def on_resize(self) -> None:
        self._reveal_current()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.line_style
        if index >= len(self._text):
            return Strip.blank(width, style)
        number = index + 1
        digits = len(str(max(len(self._text), 1)))
        palette = self.palette
        dot = Segment("● " if number in self.breakpoints else "  ", palette.breakpoint)
        arrow = "▶" if number == self.line else " "
        count = self.hits.get(number, 0)
        gutter = [
            dot,
            Segment(f"{number:>{digits}}", palette.gutter),
            Segment(arrow, palette.marker),
            Segment(f"{count:>4}" if count else "    ", palette.hit),
            Segment(" "),
        ]
        gutter_width = sum(seg.cell_length for seg in gutter)
        if number == self.line or (number == self.cursor and self.has_focus):
            body = self._text.line(index).copy()
            if number == self.line:
                current = palette.current if self.is_current_frame else palette.selected_frame
                body.stylize(palette.exception if self.exception_line else current)
                body.pad_right(max(width, len(body)))
            if number == self.cursor and self.has_focus:
                body.stylize(CURSOR)
            segments = list(body.render(self.app.console))
        else:
            segments = self._text.segments(index, self.app.console)
        strip = Strip(gutter + list(Strip(segments).crop(scroll_x, scroll_x + max(width - gutter_width, 0))))
        return strip.adjust_cell_length(width, style).apply_style(style)

    # ---------------------------------------------------------------- interaction
    def action_cursor(self, delta: int) -> None:
        if not len(self._text):
            return
        self.cursor = min(max(self.cursor + delta, 1), len(self._text))
        self._reveal(self.cursor)
        self.refresh()

    def action_run_to_cursor(self) -> None:
        if self.file is not None:
            self.post_message(LineClicked(self.file, self.cursor))

    def on_click(self, event: Click) -> None:
        """A click on a line's gutter toggles its breakpoint; on its text, runs to its next execution."""
        offset = event.get_content_offset(self)
        if self.file is None or offset is None:  # a click on the border
            return
        number = self.scroll_offset.y + offset.y + 1
        if 1 <= number <= len(self._text):
            self.cursor = number
            self.refresh()
            if offset.x < self._gutter_width():
                self.post_message(GutterClicked(self.file, number))
            else:
                self.post_message(LineClicked(self.file, number))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
