"""Small wording helpers of the narrator: clipping values, telling changes, ordinals, output.

Also the terminal-safe forms of recorded text (``printable``, ``elide``) that the narrator's
outcome line and the TUI's panes share. Pure functions on strings; they know nothing about
sessions or traces.
"""

from __future__ import annotations

import re

VALUE_WIDTH = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clip(text: str, width: int = VALUE_WIDTH) -> str:
    """``text`` cut to ``width`` characters, marked with ``...`` when cut."""
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def change_phrase(name: str, old: str | None, new: str | None) -> str:
    """``total goes from 3 to 7``, ``total is set to 0``, ``x is deleted``."""
    if new is None:
        return f"{name} is deleted"
    if old is None:
        return f"{name} is set to {clip(new)}"
    return f"{name} goes from {clip(old)} to {clip(new)}"


def changes_phrase(changes: dict[str, tuple[str | None, str | None]]) -> str:
    return "; ".join(change_phrase(name, old, new) for name, (old, new) in changes.items())


def output_phrase(text: str) -> str:
    """``prints 'good scores: [72]'`` for the text a step wrote (newlines kept visible)."""
    if not text:
        return ""
    return f"prints {clip(repr(text.rstrip(chr(10))) if text.endswith(chr(10)) else repr(text), 120)}"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def call_text(func: str, args: dict[str, str]) -> str:
    """``total(xs=[1, 2])`` from a function's name and the arguments its call event reported."""
    inner = ", ".join(f"{name}={clip(value, 60)}" for name, value in args.items())
    return f"{short_func(func)}({inner})"


def short_func(func: str) -> str:
    """``inner`` for ``outer.<locals>.inner``; other qualified names (``Stack.push``) are kept."""
    return func.rsplit(".", 1)[-1] if "<locals>" in func else func


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character but newline and tab shown as an escape (``\\x1b``)."""
    return _CONTROL.sub(_escape, text).expandtabs(4)


def elide(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with a trailing ``…`` when longer.

    (``clip`` is the narrator's own cut, with ``...``, for text that also feeds training data.)
    """
    one_line = printable(text).replace("\n", "\\n")
    if len(one_line) <= width:
        return one_line
    return one_line[: max(width - 1, 0)] + "…"
