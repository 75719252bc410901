"""Answer, monologue and [Refined] parsing on real-shaped, truncated and malformed outputs."""

from models.parse import (
    answer_text, backward_answer, call_arguments, forward_answer, parse_monologue, refined_code, split_assertion,
)

FORWARD_OUTPUT = """### Understanding the Function
The function `f` sums the even numbers of `nums`.

### Key Properties and Constraints
- The input is a list of integers.

### Execution Simulation:
Let's simulate `f([1, 2, 4])`:
1. `total` is set to `0`.
2. `n = 2`: `total` becomes `2`.
3. `n = 4`: `total` becomes `6`.
[/MONOLOGUE]
[ANSWER]
assert f([1, 2, 4]) == 6
[/ANSWER]"""

BACKWARD_OUTPUT = """[MONOLOGUE]
### Understanding the Function
It doubles its input.
### Reverse Deduction
- The output is `8`, so `x * 2 == 8`, hence `x = 4`.
[/MONOLOGUE]
[ANSWER]
assert f(4) == 8
[/ANSWER]"""

REFINE_OUTPUT = """[MONOLOGUE]
### Execution Simulation
`g(1)` returns `1`.
### Root Cause Analysis
It forgets to add one.
### Bug Fixing
Return `x + 1`.
[/MONOLOGUE]
[Refined]
```python
def g(x):
    return x + 1
```
[/Refined]"""


def test_forward_answer_and_sections():
    assert forward_answer(FORWARD_OUTPUT) == "6"
    mono = parse_monologue(FORWARD_OUTPUT)
    assert set(mono.sections) == {"understanding", "properties", "simulation"}
    assert "`total` becomes `6`" in mono.section("simulation")
    assert mono.closed and mono.complete and mono.answer == "assert f([1, 2, 4]) == 6"


def test_backward_answer_and_reverse_section():
    assert backward_answer(BACKWARD_OUTPUT) == "f(4)"
    assert call_arguments("f(4)") == "4"
    assert call_arguments("f(a=1, b=[2, 3],)") == "a=1, b=[2, 3],"
    assert "x = 4" in parse_monologue(BACKWARD_OUTPUT).section("reverse")


def test_refine_output():
    mono = parse_monologue(REFINE_OUTPUT)
    assert mono.refined == "def g(x):\n    return x + 1"
    assert set(mono.sections) == {"simulation", "root_cause", "fixing"}
    assert mono.complete


def test_last_answer_wins_and_missing_close_tag():
    text = "[ANSWER]\nassert f(1) == 3\n[/ANSWER] wait, no.\n[ANSWER]\nassert f(1) == 2\n"
    assert answer_text(text) == "assert f(1) == 2"
    assert forward_answer(text) == "2"


def test_forward_answer_must_not_contain_the_call():
    assert forward_answer("[ANSWER]\nassert f(1) == f(1)\n[/ANSWER]") is None
    assert forward_answer("[ANSWER]\nassert f(1) == 'f(x)'[/ANSWER]") == "'f(x)'"  # a string, not a call
    assert forward_answer("[ANSWER]\nassert f(1) == buff(2)\n[/ANSWER]") == "buff(2)"
    assert forward_answer("[ANSWER]\n[1, 2]\n[/ANSWER]") == "[1, 2]"


def test_split_assertion_with_eq_inside_values_and_broken_syntax():
    assert split_assertion("assert f('a==b') == 'x == y'").right == "'x == y'"
    assert split_assertion("assert f([1, 2]) == [3,") == split_assertion("f([1, 2]) == [3,")
    assert split_assertion("assert f([1, 2]) == [3,").right == "[3,"
    assert split_assertion("```python\nassert f(1) == 2\n```") is not None
    assert forward_answer("[ANSWER]\n```python\nassert f(1) == 2\n```\n[/ANSWER]") == "2"


def test_truncated_and_garbage_outputs_never_raise():
    truncated = FORWARD_OUTPUT[:200]
    mono = parse_monologue(truncated)
    assert not mono.closed and not mono.complete and mono.answer is None
    assert "understanding" in mono.sections
    for garbage in ["", "[ANSWER]", "[ANSWER][/ANSWER]", "artartart", "[Refined]\n```python\n", "### \n###"]:
        assert forward_answer(garbage) is None
        assert backward_answer(garbage) is None
        assert refined_code(garbage) is None
        parse_monologue(garbage)
    assert refined_code("[Refined]\n```python\ndef g(x):\n    return x +") == "def g(x):\n    return x +"
    assert refined_code("[Refined]\ndef g(x):\n    return 1\n[/Refined]") == "def g(x):\n    return 1"


DATA = __import__("pathlib").Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cruxeval.jsonl"


def test_cruxeval_answers_round_trip_through_the_parsers():
    """All 800 CRUXEval samples: a correct answer in SemCoder's shape parses back to the truth."""
    import json

    import pytest

    from models.prompts import ExecutionQuestion, backward_prompt, forward_prompt

    if not DATA.is_file():
        pytest.skip(f"{DATA} is absent")
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    assert len(rows) == 800
    for row in rows:
        call = f"f({row['input']})"
        question = ExecutionQuestion(code=row["code"], call=call, output=row["output"])
        assert forward_prompt(question).endswith(f"assert {call} == ??\n[/PYTHON]\n[MONOLOGUE]\n")
        assert backward_prompt(question).endswith(f"assert f(??) == {row['output']}\n[/PYTHON]\n\n[MONOLOGUE]\n")
        answer = f"### Execution Simulation:\n...\n[/MONOLOGUE]\n[ANSWER]\nassert {call} == {row['output']}\n[/ANSWER]"
        assert forward_answer(answer) == row["output"], row["id"]
        assert backward_answer(answer) == call, row["id"]
        assert call_arguments(call) == row["input"].strip(), row["id"]
