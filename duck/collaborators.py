"""What the TUI is given by the command that opens it: the ``Explainer`` protocols and ``Collaborators``.

``duck.commands.run`` (and ``duck.commands.replay``) build a ``Collaborators`` from the real
recorder, fix search, fix writer, oracle and model loader; tests build one from doubles. The
app (``duck.app.DuckApp``) only calls what it is given: it never records, searches, writes a
file or loads a model itself, and it never sees argparse results.

This module holds types only: no Textual, nothing heavy (the repair types are named for the
type checker, not imported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol

from duck.narration import Narrator

if TYPE_CHECKING:  # pragma: no cover
    from duck.repair import Fix
    from duck.repair.oracle import Verdict
    from duck.session import Session


class Explainer(Protocol):
    """Whatever writes the monologue: the narrator (``duck.narration.Narrator``) or a model."""

    name: str  # "narrator", "semcoder-s (hf)", ...

    def explain(self, session: Session, step: int, scope: str) -> Iterator[str]:
        """Text chunks about ``step``; ``scope`` is step, call, loop, failure or run. May raise
        ``models.base.BackendError`` (shown with its hint; the narrator explains again)."""
        ...


class Model(Explainer, Protocol):
    """A model's explainer (``duck.explain.ModelExplainer``): it streams, so it can be stopped and closed."""

    def cancel(self) -> None:
        """Stop the explanation that is streaming now (the user stepped away)."""
        ...

    def close(self) -> None:
        """Release the backend (the app is closing)."""
        ...


#: ``fix_searcher(session, progress, should_stop)``: verified fixes of the recorded program, best
#: first; ``progress`` takes short notes, ``should_stop`` is polled and ends the search once true.
FixSearcher = Callable[["Session", Callable[[str], None], Callable[[], bool]], Iterable["Fix"]]


@dataclass(frozen=True)
class Collaborators:
    """The app's collaborators; a missing one (None) disables what needs it, with a hint.

    - ``narrator``: explains every step at once (it reads only the recording).
    - ``model_loader``: loads the configured model (slow: the app calls it in a worker).
    - ``fix_searcher``: see ``FixSearcher``.
    - ``fix_applier``: writes a fix the user accepted; returns the backup's path, if any.
    - ``recorder``: records the program again (``r``, and after a fix) and returns the new session.
    - ``judge``: the oracle's verdict on a run (``--expect``/``--test``); None: no oracle.
    """

    narrator: Explainer = field(default_factory=Narrator)
    model_loader: Callable[[], Model] | None = None
    fix_searcher: FixSearcher | None = None
    fix_applier: Callable[[Fix], Path | str | None] | None = None
    recorder: Callable[[], Session] | None = None
    judge: Callable[[Session], Verdict] | None = None


def unexpected(verdict: Verdict | None) -> str | None:
    """A failed oracle verdict's reason, as ``duck.narration``'s outcome wording takes it
    (``unexpected=``); None when there is no oracle or the run passed it."""
    return verdict.reason if verdict is not None and not verdict.passed else None
