"""User-facing errors: what went wrong, then a hint saying what to do.

Every command catches ``DuckError`` at one place (``duck.cli.main``) and prints it as

    error: <message>
    hint: <hint>

so a user never sees a traceback from duck itself. This module is not a logging facility
and holds no recovery logic: raise the error where the problem is understood.
"""

from __future__ import annotations

import sys
from io import TextIOBase


class DuckError(Exception):
    """A failure the user can act on. ``exit_code`` is what the command exits with."""

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def render(self) -> str:
        lines = [f"error: {self.message}"]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


def report(error: DuckError, stream: TextIOBase | None = None) -> int:
    """Print ``error`` in the house style and return its exit code."""
    print(error.render(), file=stream or sys.stderr)
    return error.exit_code
