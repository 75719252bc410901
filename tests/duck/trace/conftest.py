"""Helpers for the recorder tests: the sample programs' folder and a one-call recorder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from duck.trace.format import read_trace
from duck.trace.limits import Limits
from duck.trace.runner import RecordRequest, record

PROGRAMS = Path(__file__).resolve().parent / "programs"

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def run_program(tmp_path):
    """Record one of the sample programs (or any path) and return (outcome, trace)."""

    def run(script, *, argv=(), stdin=None, limits=None, **kwargs):
        script = Path(script)
        if not script.is_absolute() and not script.exists():
            script = PROGRAMS / script
        trace_path = tmp_path / (script.name + ".trace")
        result = record(RecordRequest(script=script, argv=list(argv), stdin=stdin,
                                      limits=limits or Limits(timeout_s=60), **kwargs), trace_path)
        return result.outcome, read_trace(trace_path)

    return run
