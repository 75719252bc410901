"""Small wording helpers of the narrator: clipping values, telling changes, ordinals, output.

The terminal-safe forms of recorded text (``printable``, ``elide``) live in ``duck.text``, which
the TUI, ``--plain`` and the CLI share. Pure functions on strings; they know nothing about
sessions or traces.
"""

from __future__ import annotations

from duck.text import elide, printable  # noqa: F401 - the narrator's outcome line uses them


VALUE_WIDTH = 100


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


def output_phrase(text: str, stream: str = "stdout") -> str:
    """``prints 'good scores: [72]'`` for the text a step wrote to stdout, ``writes 'warning' to
    stderr`` for stderr (newlines kept visible)."""
    if not text:
        return ""
    shown = clip(repr(text.rstrip(chr(10))) if text.endswith(chr(10)) else repr(text), 120)
    return f"prints {shown}" if stream == "stdout" else f"writes {shown} to {stream}"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def call_text(func: str, args: dict[str, str]) -> str:
    """``total(xs=[1, 2])`` from a function's name and the arguments its call event reported."""
    inner = ", ".join(f"{name}={clip(value, 60)}" for name, value in args.items())
    return f"{short_func(func)}({inner})"


def short_func(func: str) -> str:
    """``inner`` for ``outer.<locals>.inner``; other qualified names (``Stack.push``) are kept."""
    return func.rsplit(".", 1)[-1] if "<locals>" in func else func
