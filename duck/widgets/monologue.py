"""``MonologuePane``: the rubber duck's explanation of the current step, as it streams in.

The top lines tell the run's outcome when it failed (wrapped whole: at 80x24 a box of up to
70% of the pane that scrolls beyond that, so the cause is never cut off); below them the explanation of the
current step (the narrator's paragraphs, or a model's tokens) is appended chunk by chunk.
The explanation is a ``WrappedText`` (fixed size, scrolls inside the pane), so a new
explanation repaints this pane and does not lay the screen out again. The pane only shows text; which explainer writes it, and dropping stale chunks, is the app's job.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from duck.widgets.text import printable
from duck.widgets.theme import theme_colour
from duck.widgets.wrapped import WrappedText

MAX_CHARS = 20_000


class MonologuePane(Vertical):
    DEFAULT_CSS = """
    MonologuePane { background: $surface; }
    MonologuePane > #outcome-box { height: auto; max-height: 70%; scrollbar-size-vertical: 1; }
    MonologuePane #outcome { color: $error; text-style: bold; width: 1fr; height: auto; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._outcome = Static("", id="outcome", markup=False)
        self._outcome_box = VerticalScroll(self._outcome, id="outcome-box")  # tab, then arrows, scroll it
        self._explanation = WrappedText(id="explanation")
        self._chunks: list[str] = []
        self._source = ""

    def compose(self):
        yield self._outcome_box
        yield self._explanation

    def set_outcome(self, summary: str | None) -> None:
        self._outcome.update(printable(summary) if summary else "")
        self._outcome_box.display = bool(summary)

    def start(self, source: str) -> None:
        """Begin a new explanation (clears the old one)."""
        self._chunks = []
        self._source = source
        self._explanation.set_text(Text(f"{source} …", "italic dim"))

    def show(self, source: str, text: str) -> None:
        """Show a whole explanation at once (the narrator's, computed in the step's own handler)."""
        self._chunks = [text]
        self._source = source
        self._render_chunks()

    def append(self, chunk: str) -> None:
        self._chunks.append(chunk)
        self._render_chunks(from_top=False)

    def _render_chunks(self, from_top: bool = True) -> None:
        text = Text(f"{self._source}\n", "italic dim")
        body = "".join(self._chunks)
        text.append(printable(body[-MAX_CHARS:]), "default")
        self._explanation.set_text(text, scroll="top" if from_top else None)

    def fail(self, message: str) -> None:
        self._chunks = [message]
        self._explanation.set_text(Text(printable(message), f"italic {theme_colour(self, 'duck-error-text')}"))

    @property
    def text(self) -> str:
        return "".join(self._chunks)
