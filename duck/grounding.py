"""The grounding check of duck: a model's monologue against the recording it explains.

The claim extraction and checking live in ``models.claims`` (plain data, shared with the
corpus); this module adapts a ``duck.session.Session``: the window the explanation was about
(``duck.windows``) supplies the values each variable took, the values returned and the true
answer. The UI marks contradicted claims with the true value and shows ``report.summary()``.
This module does not change or rewrite the text.
"""

from __future__ import annotations

from models.claims import (  # noqa: F401  (re-exported: duck code imports them from here)
    CONTRADICTED,
    HELD,
    UNVERIFIABLE,
    Claim,
    GroundingReport,
    Verdict,
    check,
    check_recording,
    check_text,
    extract_claims,
    observations_from_events,
    same_value,
)


def check_claims(text: str, session, step: int | None = None, scope: str | None = None) -> GroundingReport:
    """Check a monologue about ``session``: pass the ``step`` and ``scope`` it explained (the
    whole run when ``step`` is None; the call around ``step`` when ``scope`` is None)."""
    from duck.windows import run_window, window_for

    window = run_window(session) if step is None else window_for(session, step, scope or "call")
    return check_window(text, window)


def check_window(text: str, window) -> GroundingReport:
    return check_text(text, window.observed, window.returns, window.expected, window.raised)
