"""Fixtures every test folder may use."""

from __future__ import annotations

import pytest

from tests.shared_data import CRUXEVAL, HUMANEVAL_PLUS, MBPP_PLUS, require


@pytest.fixture
def benchmark_data() -> None:
    """CRUXEval and EvalPlus ship in ../shared/data: a test that needs them fails without them, never skips."""
    require(CRUXEVAL, HUMANEVAL_PLUS, MBPP_PLUS)
