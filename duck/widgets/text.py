"""The TUI's name for ``duck.text`` (terminal-safe text), which the plain output and the CLI use too."""

from duck.text import elide, printable, tail

__all__ = ["elide", "printable", "tail"]
