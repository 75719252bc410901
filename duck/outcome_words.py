"""How a run ended, in one line, from the outcome record alone: ``brief_outcome`` and ``outcome_tone``.

The short lengths of the meaning that ``duck.narration.outcome`` words at length (it re-exports
these two and builds on ``told_unexpected``). They live here, apart from the narrator, because
``duck record`` prints its summary line with them and must not import the narrator, the session
and the trace reader for one line. Light: the standard library's ``pathlib`` and ``duck.text``.
It reads the outcome record (docs/trace-format.md); it runs nothing.
"""

from __future__ import annotations

from pathlib import Path

from duck.text import elide

#: What each kind of outcome means for the user: shown as a colour, never as a word.
OUTCOME_TONES = {"finished": "success", "exited": "warning", "exception": "error", "limit": "warning",
                 "failed_to_start": "error"}

#: Outcomes of a run that ran to its end, where an oracle's verdict says more than the outcome.
_RAN_TO_THE_END = ("finished", "exited")


def told_unexpected(outcome: dict, unexpected: str | None) -> bool:
    """Whether the run is told by an oracle's verdict (it ran to its end and the oracle said it failed)."""
    return unexpected is not None and outcome.get("outcome") in _RAN_TO_THE_END


def outcome_tone(outcome: dict, unexpected: str | None = None) -> str | None:
    """``success``, ``warning`` or ``error`` for an outcome record; None for an unknown kind."""
    if told_unexpected(outcome, unexpected):
        return "error"
    return OUTCOME_TONES.get(outcome.get("outcome", "unknown"))


def brief_outcome(outcome: dict, unexpected: str | None = None) -> str:
    """A one-line summary of a trace's outcome record (docs/trace-format.md), without the session."""
    if told_unexpected(outcome, unexpected):
        return f"{brief_outcome(outcome)} but not as expected: {unexpected}"
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
