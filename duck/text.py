"""Making recorded text safe and short for a terminal: escapes and elision.

Everything the user's program produced (its output, its values, its source, its file names)
reaches the screen through these helpers, in the TUI, in ``--plain`` output and in the CLI's
summaries, so a control character, an ANSI escape or a megabyte-long value cannot break the
layout or drive the terminal. This module formats only; it holds no widget and imports nothing
but ``re`` (``duck.widgets.text`` is the TUI's name for it).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character but newline and tab shown as an escape (``\\x1b``)."""
    return _CONTROL.sub(_escape, text).expandtabs(4)


def elide(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with a trailing ``…`` when longer."""
    one_line = printable(text).replace("\n", "\\n")
    if len(one_line) <= width:
        return one_line
    return one_line[: max(width - 1, 0)] + "…"


def tail(text: str, max_chars: int) -> tuple[str, int]:
    """The last ``max_chars`` characters of ``text`` (from a line start where possible) and how many were cut."""
    if len(text) <= max_chars:
        return text, 0
    cut = len(text) - max_chars
    newline = text.find("\n", cut)
    if newline != -1 and newline - cut < 200:
        cut = newline + 1
    return text[cut:], cut
