"""The TUI's screens: help, a value shown whole, a one-line prompt (search, watch), the fix diff."""

from duck.screens.fix import FixModal
from duck.screens.help import HelpScreen
from duck.screens.prompt import PromptScreen
from duck.screens.value import ValueScreen

__all__ = ["FixModal", "HelpScreen", "PromptScreen", "ValueScreen"]
