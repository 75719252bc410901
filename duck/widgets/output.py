"""``OutputPane``: what the program had printed by the current step (stdout, then stderr in red).

Only the last ``MAX_CHARS`` characters are drawn, with a note saying how much came before, so a
program that printed megabytes steps as fast as one that printed a line. Control characters
and escape sequences are shown escaped, never sent to the terminal.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from duck.widgets.text import printable, tail

MAX_CHARS = 4000


class OutputPane(VerticalScroll):
    DEFAULT_CSS = """
    OutputPane { background: $surface; }
    OutputPane > Static { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._body = Static("", markup=False)
        self._shown: tuple | None = None

    def compose(self):
        yield self._body

    def show(self, stdout: str, stderr: str, key: tuple) -> None:
        if key == self._shown:
            return
        self._shown = key
        text = Text()
        out, cut = tail(stdout, MAX_CHARS)
        if cut:
            text.append(f"… {cut:,} earlier characters\n", "italic dim")
        text.append(printable(out))
        if stderr:
            err, cut = tail(stderr, MAX_CHARS // 2)
            if text:
                text.append("\n")
            text.append(("… " + f"{cut:,} earlier characters of stderr\n") if cut else "", "italic dim")
            text.append(printable(err), "#ff8787")
        if not text:
            text.append("(nothing printed yet)", "italic dim")
        self._body.update(text)
        self.scroll_end(animate=False, immediate=True)

    @property
    def text(self) -> str:
        return str(self._body.render())
