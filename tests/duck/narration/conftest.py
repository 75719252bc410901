"""Records the narration sample programs once per test session and loads them as sessions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from duck.session import Session
from duck.trace.limits import Limits
from duck.trace.runner import RecordRequest, record

PROGRAMS = Path(__file__).resolve().parent / "programs"

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """``recorded(name, max_steps=None)``: the session of ``programs/<name>.py``, recorded once."""
    cache: dict[tuple[str, int | None], Session] = {}
    folder = tmp_path_factory.mktemp("narration")

    def load(name: str, max_steps: int | None = None) -> Session:
        key = (name, max_steps)
        if key not in cache:
            limits = Limits(timeout_s=60) if max_steps is None else Limits(timeout_s=60, max_steps=max_steps)
            trace = folder / f"{name}-{max_steps}.trace"
            record(RecordRequest(script=PROGRAMS / f"{name}.py", argv=[], stdin=None, limits=limits), trace)
            cache[key] = Session.load(trace)
        return cache[key]

    return load
