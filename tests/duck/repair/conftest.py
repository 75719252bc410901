"""Helpers for the repair tests: write a small program into a folder and record it for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def write(tmp_path: Path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def recorded(tmp_path: Path):
    """record(script, **request fields) -> Session of a real recording."""
    from duck.session import Session
    from duck.trace.runner import RecordRequest, record

    counter = iter(range(1000))

    def recorded(script: Path, **fields):
        fields.setdefault("stdin", None)
        fields.setdefault("cwd", script.parent)
        trace = tmp_path / f"run-{next(counter)}.trace"
        record(RecordRequest(script=script, **fields), trace)
        return Session.load(trace)

    return recorded
