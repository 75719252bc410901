"""``MonologuePane``: the rubber duck's explanation of the current step, as it streams in.

The top line summarises the run's outcome when it failed; below it the explanation of the
current step (the narrator's paragraphs, or a model's tokens) is appended chunk by chunk.
The pane only shows text; which explainer writes it, and dropping stale chunks, is the app's job.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from duck.widgets.text import printable

MAX_CHARS = 20_000


class MonologuePane(VerticalScroll):
    DEFAULT_CSS = """
    MonologuePane { background: $surface; }
    MonologuePane > #outcome { color: $error; text-style: bold; width: 1fr; height: auto; max-height: 3; }
    MonologuePane > #explanation { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._outcome = Static("", id="outcome", markup=False)
        self._explanation = Static("", id="explanation", markup=False)
        self._chunks: list[str] = []
        self._source = ""

    def compose(self):
        yield self._outcome
        yield self._explanation

    def set_outcome(self, summary: str | None) -> None:
        self._outcome.update(printable(summary) if summary else "")
        self._outcome.display = bool(summary)

    def start(self, source: str) -> None:
        """Begin a new explanation (clears the old one)."""
        self._chunks = []
        self._source = source
        self._set_explanation(Text(f"{source} …", "italic dim"))

    def show(self, source: str, text: str) -> None:
        """Show a whole explanation at once (the narrator's, computed in the step's own handler)."""
        self._chunks = [text]
        self._source = source
        self._render_chunks()

    def append(self, chunk: str) -> None:
        self._chunks.append(chunk)
        self._render_chunks()

    def _render_chunks(self) -> None:
        text = Text(f"{self._source}\n", "italic dim")
        body = "".join(self._chunks)
        text.append(printable(body[-MAX_CHARS:]), "default")
        self._set_explanation(text)

    def fail(self, message: str) -> None:
        self._chunks = [message]
        self._set_explanation(Text(printable(message), "italic #ff8787"))

    def _set_explanation(self, text: Text) -> None:
        """Show ``text``; a new layout only when its wrapped height differs (a step then costs one
        repaint of this pane, not a re-layout of the screen)."""
        widget = self._explanation
        widget.update(text, layout=False)
        width, height = widget.size
        if not width or widget.get_content_height(self.size, self.size, width) != height:
            widget.refresh(layout=True)

    @property
    def text(self) -> str:
        return "".join(self._chunks)
