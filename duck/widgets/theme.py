"""duck's colours, as Textual theme variables: what each one means, and its default.

No widget writes a colour. TCSS uses ``$duck-error`` and friends; Python code that builds Rich
text reads ``theme_colour(widget, "duck-error")``. ``DuckApp.get_theme_variable_defaults``
offers these defaults, so a Textual ``Theme`` can set any of them in its ``variables`` (and
Textual's own ``$error``, ``$accent`` ... keep their meaning in the built-in widgets).
This module holds names and defaults only; it draws nothing.
"""

from __future__ import annotations

#: name -> default colour. The comment says what the colour marks, wherever it appears.
THEME_VARIABLES = {
    "duck-success": "#87d787",  # a run that finished, a new value, a verified fix, a return
    "duck-warning": "#ffaf5f",  # a run that exited or was stopped by a limit
    "duck-error": "#ff5f5f",  # a run that failed, an exception step, a breakpoint, a raise
    "duck-error-text": "#ff8787",  # the program's error output, a failure message
    "duck-highlight": "#ffd75f",  # the current-line marker, a changed value, keys in the help
    "duck-count": "#5fafd7",  # hit counts in the gutter, the loop iteration
    "duck-gutter": "#7a7a7a",  # line numbers
    "duck-current-line": "#3a3d1f",  # background of the line the current step runs
    "duck-caller-line": "#1f2d3d",  # background of a caller's line (a frame picked in the call stack)
    "duck-exception-line": "#4a1f1f",  # background of the line that raised
}


def theme_colour(widget, name: str) -> str:
    """The colour ``name`` has in the running app's theme (its default outside ``DuckApp``)."""
    return widget.app.theme_variables.get(name) or THEME_VARIABLES[name]
