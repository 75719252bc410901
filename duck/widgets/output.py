"""``OutputPane``: what the program had printed by the current step (stdout, then stderr in red).

Only the last ``MAX_CHARS`` characters are drawn, with a note saying how much came before, so a
program that printed megabytes steps as fast as one that printed a line. Control characters
and escape sequences are shown escaped, never sent to the terminal. The text is a
``WrappedText`` scrolled to its end, so new output repaints this pane only.
"""

from __future__ import annotations

from rich.text import Text

from duck.widgets.text import printable, tail
from duck.widgets.theme import theme_colour
from duck.widgets.wrapped import WrappedText

MAX_CHARS = 4000


class OutputPane(WrappedText):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple | None = None

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
            text.append(printable(err), theme_colour(self, "duck-error-text"))
        if not text:
            text.append("(nothing printed yet)", "italic dim")
        self.set_text(text, scroll="end")

    @property
    def plain(self) -> str:
        """What the pane shows, as plain text."""
        return self.text.plain
