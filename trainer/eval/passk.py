"""The unbiased pass@k estimator (Chen et al., 2021) and benchmark-level averages.

For a task with ``n`` samples of which ``c`` are correct, pass@k = 1 - C(n-c, k) / C(n, k);
the benchmark score is the mean over tasks, in percent. Stdlib only; nothing here runs code.
"""

from __future__ import annotations

from typing import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) is correct."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def ks_for(n: int) -> list[int]:
    """The k values reported for n samples per task: 1, and 5, 10, 100 where n allows."""
    return [k for k in (1, 5, 10, 100) if k <= n]


def benchmark_pass_at_k(correct: Sequence[Sequence[bool]], ks: Sequence[int] | None = None) -> dict[str, float]:
    """``{"pass@1": 63.9, ...}`` in percent over tasks; each row holds one task's samples."""
    if not correct:
        return {}
    n = min(len(row) for row in correct)
    out = {}
    for k in ks or ks_for(n):
        scores = [pass_at_k(len(row), sum(bool(x) for x in row), k) for row in correct]
        out[f"pass@{k}"] = round(100.0 * sum(scores) / len(scores), 2)
    return out
