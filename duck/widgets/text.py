"""Making recorded text safe and short for a terminal: escapes and elision.

Everything the user's program produced (its output, its values, its source) reaches the screen
through these helpers, so a control character, an ANSI escape or a megabyte-long value cannot
break the layout. ``printable`` and ``elide`` are defined in ``duck.narration.text`` (the
outcome line shares them) and named here for the widgets. This module formats only; it holds
no widget.
"""

from __future__ import annotations

from duck.narration.text import elide, printable

__all__ = ["elide", "printable", "tail"]


def tail(text: str, max_chars: int) -> tuple[str, int]:
    """The last ``max_chars`` characters of ``text`` (from a line start where possible) and how many were cut."""
    if len(text) <= max_chars:
        return text, 0
    cut = len(text) - max_chars
    newline = text.find("\n", cut)
    if newline != -1 and newline - cut < 200:
        cut = newline + 1
    return text[cut:], cut
