"""The TUI's panes (Textual widgets). Each shows one view of the session; none steps or records."""

from duck.widgets.fixes import FixesPane
from duck.widgets.keybar import KeyBar
from duck.widgets.monologue import MonologuePane
from duck.widgets.output import OutputPane
from duck.widgets.source import SourceView
from duck.widgets.stack import CallStackPane
from duck.widgets.status import StatusBar
from duck.widgets.variables import VariablesPane
from duck.widgets.watches import WatchesPane

__all__ = ["CallStackPane", "FixesPane", "KeyBar", "MonologuePane", "OutputPane", "SourceView", "StatusBar",
           "VariablesPane", "WatchesPane"]
