"""The TUI's screens: help, a value shown whole, a one-line prompt (search, watch), the fix diff.

Each is imported on first use (``from duck.screens import FixModal`` still works): none is
needed for the first paint, and the fix diff's syntax highlighting is slow to import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duck.screens.fix import FixModal
    from duck.screens.help import HelpScreen
    from duck.screens.prompt import PromptScreen
    from duck.screens.value import ValueScreen

_MODULES = {"FixModal": "duck.screens.fix", "HelpScreen": "duck.screens.help",
            "PromptScreen": "duck.screens.prompt", "ValueScreen": "duck.screens.value"}

__all__ = ["FixModal", "HelpScreen", "PromptScreen", "ValueScreen"]


def __getattr__(name: str):
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
