"""The public benchmark data the tests read from ../shared/data (beside the repository).

CRUXEval and EvalPlus's HumanEval+/MBPP+ ship there (DESIGN.md, "Data in ../shared/data"), so
a missing file is a broken checkout, not a reason to skip: ``require`` fails the test and says
which file is missing and where it was looked for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CRUXEVAL = DATA / "cruxeval.jsonl"
HUMANEVAL_PLUS = DATA / "evalplus" / "HumanEvalPlus.jsonl.gz"
MBPP_PLUS = DATA / "evalplus" / "MbppPlus.jsonl.gz"


def require(*paths: Path) -> None:
    """Fail the calling test, with a message, unless every one of ``paths`` is a file."""
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        pytest.fail(f"benchmark data missing: {', '.join(missing)}. These tests read CRUXEval and "
                    f"EvalPlus from {DATA} (../shared/data beside the repository); put the files there.",
                    pytrace=False)
