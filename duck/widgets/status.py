"""``StatusBar``: one line saying where the cursor is in the run and how the run ended.

``step 12 of 40 · line · total() prog.py:4 · iteration 3 of 10 · exception: IndexError``.
The frame is named as the narration names it (``frame_title``: ``module helper's top-level
code line 3 of helper.py``, ``the getter of property Account.balance line 12``).
The outcome's words and its tone (success, warning, error) come from
``duck.narration.outcome`` (with a failed ``--expect``/``--test``: "finished but not as
expected: ..."); the tone's colour from the theme (``duck.widgets.theme``). A line wider than
the bar ends in "…" instead of being cut mid-word. A note is new, so the outcome gives way to
it (shortened, or left out until the next step); ``show`` says whether the note still did not
fit, so the app can show it whole elsewhere (a notification).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from duck.narration import brief_outcome, frame_title, outcome_tone
from duck.widgets.theme import theme_colour


#: The fewest columns the outcome is shortened to, to make room for a note (it is in the outcome box whole).
_SHORTEST_OUTCOME = 12


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: Text | None = None

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: tuple | None = None

    def show(self, session, step: int, extra: str = "", unexpected: str | None = None) -> bool:
        """Show ``step`` of ``session``, its outcome (``unexpected``: a failed oracle's reason) and
        the note ``extra``; returns False when the note does not fit in the bar's width."""
        self._last = (session, step, extra, unexpected)
        outcome = session.outcome
        text = Text()
        if len(session):
            text.append(f"step {step + 1:,} of {len(session):,}", "bold")
            step_kind = session.kind(step)
            if step_kind != "line":
                text.append(f" · {step_kind}",
                            f"bold {theme_colour(self, 'duck-error')}" if step_kind == "exception" else "bold")
            text.append(f" · {frame_title(session, session.frame(step), parens=True)} line {session.line(step)}")
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
        tone = outcome_tone(outcome, unexpected)
        told = Text(brief_outcome(outcome, unexpected), theme_colour(self, f"duck-{tone}") if tone else "")
        note = Text(f" · {extra}", "italic") if extra else Text()
        width = self.content_size.width  # 0 before the first layout: nothing is cut then
        room = width - text.cell_len - 3 - note.cell_len  # what is left for the outcome
        fits = not width or told.cell_len <= room
        if not fits and extra:  # the note is new: the outcome gives way (the outcome box has it whole)
            if room >= _SHORTEST_OUTCOME:
                told.truncate(room, overflow="ellipsis")
                fits = True
            elif text.cell_len + note.cell_len <= width:  # until the next step, the note alone
                told, fits = Text(), True
        if told:
            text.append(" · ")
            text.append_text(told)
        text.append_text(note)
        if width and text.cell_len > width:  # the note or the outcome does not fit: "…" ends the line
            text.truncate(width, overflow="ellipsis")
        if text != self._shown:  # one line, fixed size: a repaint, never a new layout
            self._shown = text
            self.update(text, layout=False)
        return fits or not extra

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)
