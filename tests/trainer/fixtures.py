"""Small SemCoder-schema datasets for the trainer tests, built from real code execution.

Rows are generated from tiny Python functions that are actually run here, so every forward
answer is the real output. They are training data for a 2-layer model, not a corpus.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from models.prompts import ExecutionQuestion, backward_instruction, failed_test_text, forward_instruction, refine_instruction

#: the real benchmark files (../shared/data); tests that need them skip when they are absent
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CRUX = DATA / "cruxeval.jsonl"
HUMANEVAL = DATA / "evalplus" / "HumanEvalPlus.jsonl.gz"
MBPP = DATA / "evalplus" / "MbppPlus.jsonl.gz"
HAVE_BENCHMARKS = CRUX.is_file() and HUMANEVAL.is_file() and MBPP.is_file()

FUNCTIONS = [
    "def f(x):\n    return x + {k}\n",
    "def f(x):\n    return x * {k}\n",
    "def f(x):\n    y = x - {k}\n    return y * 2\n",
    "def f(xs):\n    total = {k}\n    for x in xs:\n        total += x\n    return total\n",
]


def _call(template: str, rng: random.Random) -> str:
    if "xs" in template:
        return f"f({[rng.randint(0, 9) for _ in range(rng.randint(1, 3))]})"
    return f"f({rng.randint(0, 20)})"


def pyx_rows(count: int, seed: int = 0) -> list[dict]:
    """Forward, backward and NL->code rows whose answers come from running the code."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        template = FUNCTIONS[i % len(FUNCTIONS)]
        code = template.format(k=rng.randint(1, 9))
        call = _call(template, rng)
        namespace: dict = {}
        exec(code, namespace)  # our own fixture code
        output = repr(eval(call, namespace))
        question = ExecutionQuestion(code=code, call=call, output=output)
        kind = i % 3
        if kind == 0:
            rows.append({"nl": "", "fwd_mnl": forward_instruction(question), "bwd_mnl": "", "response": (
                f"[MONOLOGUE]\n### Execution Simulation:\nCalling {call} returns {output}.\n[/MONOLOGUE]\n"
                f"[ANSWER]\nassert {call} == {output}\n[/ANSWER]")})
        elif kind == 1:
            rows.append({"nl": "", "fwd_mnl": "", "bwd_mnl": backward_instruction(question), "response": (
                f"[MONOLOGUE]\n### Reverse Deduction\n{call} gives {output}.\n[/MONOLOGUE]\n"
                f"[ANSWER]\nassert {call} == {output}\n[/ANSWER]")})
        else:
            rows.append({"nl": f"Write a function f that computes what this code computes for {call}.", "fwd_mnl": "", "bwd_mnl": "", "response": code})
        rows[-1]["meta"] = {"id": i}
    return rows


def pyx_r_rows(count: int, seed: int = 0) -> list[dict]:
    """Debug-and-refine rows: an off-by-k bug, the failing test and the fixed code."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        k = rng.randint(1, 9)
        x = rng.randint(0, 20)
        buggy = f"def f(x):\n    return x + {k + 1}\n"
        fixed = f"def f(x):\n    return x + {k}\n"
        fault = refine_instruction(f"Return x plus {k}.", buggy.rstrip(), failed_test_text(f"f({x})", str(x + k)))
        response = (
            f"[MONOLOGUE]\nf({x}) returns {x + k + 1}, not {x + k}: the constant is off by one.\n[/MONOLOGUE]\n"
            f"[Refined]\n```python\n{fixed}```\n[/Refined]"
        )
        rows.append({"fault": fault, "response": response, "meta": {"id": i}})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
