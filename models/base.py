"""The backend protocol every model implementation follows, and the error they raise.

A backend turns a prompt into text: ``stream`` yields chunks as they are generated,
``generate`` answers a batch of prompts at once, ``close`` frees what the backend holds.
This module is stdlib only (no torch): duck's start-up path and the TUI import it freely.
It does not load models (see ``models.registry``) and does not build prompts
(see ``models.prompts``). ``BackendError`` is not a ``duck`` error because ``models`` must not
import ``duck``; duck converts it at its edge.
"""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence, runtime_checkable


#: nucleus sampling's top_p whenever a backend samples (temperature > 0): every released
#: SemCoder script that samples (CRUXEval at T=0.2, self-refine at T=0.6/0.8) uses 0.95;
#: greedy decoding ignores it
SAMPLING_TOP_P = 0.95


class BackendError(Exception):
    """A model could not be loaded or could not answer: what went wrong and what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


@runtime_checkable
class Backend(Protocol):
    """A model that completes prompts. ``name`` is what the UI shows, e.g. ``semcoder-s (hf)``."""

    name: str

    def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 512,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        """Yield the completion of ``prompt`` in chunks; stops before the first stop string's end.

        The text yielded up to and including a stop string is kept (parsers want
        ``[/ANSWER]``); nothing after it is yielded. Raises ``BackendError``.
        """
        ...

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 512,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        n: int = 1,
    ) -> list[str]:
        """Complete every prompt; with ``n > 1`` the result holds n samples per prompt, in order."""
        ...

    def count_tokens(self, prompt: str) -> int | None:
        """How many tokens ``prompt`` takes for this model (BOS included), or None when the
        backend cannot tell. Used to hold prompt + answer within a total budget."""
        ...

    def cancel(self) -> None:
        """Ask a running ``stream`` to stop soon (safe to call from another thread)."""
        ...

    def close(self) -> None:
        ...


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` just after the earliest stop string; return (text, whether a stop was found)."""
    best = -1
    for s in stop:
        if not s:
            continue
        at = text.find(s)
        if at >= 0 and (best < 0 or at + len(s) < best):
            best = at + len(s)
    if best < 0:
        return text, False
    return text[:best], True


class StopScanner:
    """Incremental stop-string detection for streamed chunks.

    ``feed(chunk)`` returns the part of the chunk that may be shown now and whether a stop
    string ended the stream. Text that could be the start of a stop string is held back
    until the next chunk decides it, so a stop string split across chunks is still found.
    """

    def __init__(self, stop: Sequence[str]) -> None:
        self.stop = [s for s in stop if s]
        self._pending = ""
        self.stopped = False

    def feed(self, chunk: str) -> str:
        if self.stopped:
            return ""
        text = self._pending + chunk
        cut, found = truncate_at_stop(text, self.stop)
        if found:
            self.stopped = True
            self._pending = ""
            return cut
        hold = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        self._pending = text[len(text) - hold:] if hold else ""
        return text[: len(text) - hold]

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return "" if self.stopped else rest
