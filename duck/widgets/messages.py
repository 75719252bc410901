"""Messages the TUI's workers and panes post to the app (past tense: something happened).

Workers run in threads and never touch widgets: they post one of these, and the app's handler
(on the UI thread) updates the panes. Explanation chunks carry the step and the request they
belong to, so a chunk that arrives after the user has moved on is dropped.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ExplanationStreamed(Message):
    """A chunk of the explanation of ``step`` (request ``token``) arrived from ``source``."""

    def __init__(self, token: int, step: int, chunk: str, source: str) -> None:
        super().__init__()
        self.token = token
        self.step = step
        self.chunk = chunk
        self.source = source


class ExplanationFinished(Message):
    def __init__(self, token: int, step: int) -> None:
        super().__init__()
        self.token = token
        self.step = step


class BackendLoaded(Message):
    """A model explainer finished loading in its worker."""

    def __init__(self, explainer: Any) -> None:
        super().__init__()
        self.explainer = explainer


class BackendFailed(Message):
    """Loading or running a model failed: what went wrong and what to do."""

    def __init__(self, message: str, hint: str | None) -> None:
        super().__init__()
        self.message = message
        self.hint = hint


class FixVerified(Message):
    """The fix search found a fix that passed the oracle on a re-run."""

    def __init__(self, fix: Any) -> None:
        super().__init__()
        self.fix = fix


class FixSearchFinished(Message):
    def __init__(self, found: int, error: tuple[str, str | None] | None = None) -> None:
        super().__init__()
        self.found = found
        self.error = error


class SessionIndexed(Message):
    """The background worker indexed more of ``session``; at ``fraction`` 1.0 every query answers at once."""

    def __init__(self, session: Any, fraction: float) -> None:
        super().__init__()
        self.session = session
        self.fraction = fraction


class SessionReloaded(Message):
    """A re-run recorded a new trace; ``session`` replaces the current one."""

    def __init__(self, session: Any, error: tuple[str, str | None] | None = None) -> None:
        super().__init__()
        self.session = session
        self.error = error


class SearchFinished(Message):
    """A search for ``text`` ended at ``step`` (None: nothing found); ``whole_word``: the match is
    ``text`` as a whole word, not part of a longer one."""

    def __init__(self, text: str, step: int | None, backward: bool, whole_word: bool = True) -> None:
        super().__init__()
        self.text = text
        self.step = step
        self.backward = backward
        self.whole_word = whole_word


class LineClicked(Message):
    """The user clicked ``line`` of ``file`` in the source view."""

    def __init__(self, file: str, line: int) -> None:
        super().__init__()
        self.file = file
        self.line = line


class GutterClicked(Message):
    """The user clicked the gutter (breakpoint column, number, hits) of ``line`` of ``file``."""

    def __init__(self, file: str, line: int) -> None:
        super().__init__()
        self.file = file
        self.line = line


class FrameSelected(Message):
    """The user picked a frame in the call stack shown for ``step`` (stale when the step moved on)."""

    def __init__(self, frame: int, step: int) -> None:
        super().__init__()
        self.frame = frame
        self.step = step
