"""``StatusBar``: one line saying where the cursor is in the run and how the run ended.

``step 12 of 40 · line · total() prog.py:4 · iteration 3 of 10 · exception: IndexError``.
The outcome's words and its tone (success, warning, error) come from
``duck.narration.outcome``; the tone's colour from the theme (``duck.widgets.theme``).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from duck.narration import brief_outcome, outcome_tone
from duck.widgets.theme import theme_colour


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: Text | None = None

    def show(self, session, step: int, extra: str = "") -> None:
        outcome = session.outcome
        text = Text()
        if len(session):
            text.append(f"step {step + 1:,} of {len(session):,}", "bold")
            step_kind = session.kind(step)
            if step_kind != "line":
                text.append(f" · {step_kind}",
                            f"bold {theme_colour(self, 'duck-error')}" if step_kind == "exception" else "bold")
            text.append(f" · {session.frame_func(session.frame(step))}() line {session.line(step)}")
            if len(session.sources) > 1:
                text.append(f" of {Path(session.file(step)).name}")
            indexed = session.indexed_fraction
            if indexed < 1.0:  # loop totals need the whole trace: shown once it is indexed
                text.append(f" · indexing {indexed:.0%}", "italic")
            else:
                loop = session.loop_at(step)
                if loop is not None:
                    text.append(f" · iteration {loop.iteration} of {loop.total}", theme_colour(self, "duck-count"))
        else:
            text.append("no steps recorded", "bold")
        text.append(" · ")
        tone = outcome_tone(outcome)
        text.append(brief_outcome(outcome), theme_colour(self, f"duck-{tone}") if tone else "")
        if extra:
            text.append(f" · {extra}", "italic")
        if text != self._shown:  # one line, fixed size: a repaint, never a new layout
            self._shown = text
            self.update(text, layout=False)
