"""``StatusBar``: one line saying where the cursor is in the run and how the run ended.

``step 12 of 40 · line · total() prog.py:4 · iteration 3 of 10 · exception: IndexError``.
``describe_outcome_briefly`` is the short outcome text used here and in the monologue header.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from duck.widgets.text import elide

OUTCOME_STYLE = {"finished": "#87d787", "exited": "#ffaf5f", "exception": "#ff5f5f",
                 "limit": "#ffaf5f", "failed_to_start": "#ff5f5f"}


def describe_outcome_briefly(outcome: dict) -> str:
    """A one-line summary of a trace's outcome record (docs/trace-format.md)."""
    kind = outcome.get("outcome", "unknown")
    if kind == "finished":
        return "finished"
    if kind == "exited":
        return f"exited with status {outcome.get('exit_code')}" + (
            f" ({outcome['message']})" if outcome.get("message") else "")
    if kind in ("exception", "failed_to_start"):
        exc = outcome.get("exception") or {}
        where = ""
        frames = exc.get("traceback") or []
        if frames:
            last = frames[-1]
            where = f" at {Path(str(last.get('file', '?'))).name}:{last.get('line', '?')}"
        text = f"{exc.get('type', 'error')}: {elide(str(exc.get('message', '')), 80)}{where}"
        if kind == "failed_to_start":
            return f"failed to start: {text}" if exc else f"failed to start: {outcome.get('message') or ''}"
        return text
    if kind == "limit":
        return f"stopped by a limit: {outcome.get('limit')}" + (
            f" ({outcome['message']})" if outcome.get("message") else "")
    return str(kind)


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: Text | None = None

    def show(self, session, step: int, extra: str = "") -> None:
        outcome = session.outcome
        kind = outcome.get("outcome", "unknown")
        text = Text()
        if len(session):
            text.append(f"step {step + 1:,} of {len(session):,}", "bold")
            kind = session.kind(step)
            if kind != "line":
                text.append(f" · {kind}", "bold #ff5f5f" if kind == "exception" else "bold")
            text.append(f" · {session.frame_func(session.frame(step))}() line {session.line(step)}")
            if len(session.sources) > 1:
                text.append(f" of {Path(session.file(step)).name}")
            indexed = session.indexed_fraction
            if indexed < 1.0:  # loop totals need the whole trace: shown once it is indexed
                text.append(f" · indexing {indexed:.0%}", "italic")
            else:
                loop = session.loop_at(step)
                if loop is not None:
                    text.append(f" · iteration {loop.iteration} of {loop.total}", "#5fafd7")
        else:
            text.append("no steps recorded", "bold")
        text.append(" · ")
        text.append(describe_outcome_briefly(outcome), OUTCOME_STYLE.get(kind, ""))
        if extra:
            text.append(f" · {extra}", "italic")
        if text != self._shown:  # one line, fixed size: a repaint, never a new layout
            self._shown = text
            self.update(text, layout=False)
