"""The grounding check: planted wrong values are caught, true ones hold."""

import pytest

from duck.grounding import CONTRADICTED, HELD, UNVERIFIABLE, check_claims, check_text, extract_claims, same_value
from tests.duck.test_windows import PROGRAM
from tests.models.traced import session_of

MONOLOGUE = """[MONOLOGUE]
### Understanding the Function
The function `total_even` takes a list `nums` and returns the sum of its even numbers.

### Execution Simulation:
Let's simulate `total_even([1, 2, 4])`:
1. **Initialization**: `total` is set to `0`.
2. **First Iteration** (`n = 1`): `1 % 2 == 0` is `False`, so `total` remains `0`.
3. **Second Iteration** (`n = 2`): `total` is updated to `0 + 2 = 2`.
4. **Third Iteration** (`n = 4`): `total` becomes {third}.
5. After the loop, i == 4 when it ends and the function returns `{ret}`.
```python
total = 99
```
[/MONOLOGUE]
[ANSWER]
assert total_even([1, 2, 4]) == {answer}
[/ANSWER]"""


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return session_of(tmp_path_factory.mktemp("ground"), PROGRAM)


def _loop_step(session):
    return next(s for s in range(len(session)) if session.event(s).func == "total_even" and session.line(s) == 5)


def test_extracts_concrete_claims_only():
    claims = extract_claims(MONOLOGUE.format(third="`6`", ret="6", answer="6"))
    found = [(c.kind, c.name, c.value) for c in claims]
    assert found == [
        ("value", "total", "0"), ("value", "n", "1"), ("value", "total", "0"), ("value", "n", "2"),
        ("value", "total", "2"), ("value", "n", "4"), ("value", "total", "6"), ("value", "i", "4"),
        ("return", None, "6"), ("answer", None, "6"),
    ]  # "returns the sum of its even numbers" is not concrete; the fenced code is not a claim


def test_true_monologue_holds(session):
    report = check_claims(MONOLOGUE.format(third="`6`", ret="6", answer="6"), session, _loop_step(session), "call")
    assert not report.contradicted
    assert len(report.held) == 9 and [v.claim.name for v in report.unverifiable] == ["i"]
    assert report.summary() == "grounding: 9 claims checked against the recording, 9 held (1 not checkable)"


def test_planted_wrong_values_are_contradicted_with_the_true_value(session):
    text = MONOLOGUE.format(third="`7`", ret="[1, 2]", answer="7")
    report = check_claims(text, session, _loop_step(session), "call")
    wrong = [(v.claim.kind, v.claim.value, v.actual) for v in report.contradicted]
    assert wrong == [("value", "7", ("0", "2", "6")), ("return", "[1, 2]", ("6",)), ("answer", "7", ("6",))]
    assert "3 contradicted" in report.summary()
    assert "contradicted: `total` = 7, but the run had 0, 2, 6" in report.render()
    assert not report.ok


def test_offline_core_on_plain_data():
    report = check_text("`xs` becomes [1,2] and `name` is 'bob'. xs[0] = 5. `flag` = True", {"xs": ["[]", "[1, 2]"], "name": ["'bob'"], "flag": ["False"]})
    statuses = [(v.claim.name, v.status) for v in report.verdicts]
    assert statuses == [("xs", HELD), ("name", HELD), ("xs[0]", CONTRADICTED), ("flag", CONTRADICTED)]
    assert check_text("nothing concrete here", {}).summary().endswith("no concrete value claims to check")
    assert check_text("`z` becomes 3", {}).verdicts[0].status == UNVERIFIABLE


def test_value_equality_is_by_value_not_spelling():
    assert same_value("[1,2]", "[1, 2]") and same_value('"a"', "'a'") and same_value("2.0", "2")
    assert not same_value("True", "1") and not same_value("'1'", "1")
    assert same_value("<Point object>", "<Point  object>")


def test_grounding_of_a_call_recording():
    from duck.grounding import check_recording
    from duck.trace.recorder import record_call

    recording = record_call("def f(x):\n    y = x * 2\n    return y + 1\n", "f(3)")
    report = check_recording("`y` becomes 6, then it returns 8.\n[ANSWER]\nassert f(3) == 7\n[/ANSWER]", recording)
    assert [(v.claim.kind, v.status) for v in report.verdicts] == [("value", HELD), ("return", CONTRADICTED), ("answer", HELD)]


def test_an_answer_for_a_call_that_raised_is_contradicted():
    from duck.trace.recorder import record_call
    from duck.grounding import check_recording

    recording = record_call("def f(x):\n    return 1 / x\n", "f(0)")
    report = check_recording("[ANSWER]\nassert f(0) == 0\n[/ANSWER]", recording)
    assert report.verdicts[0].status == CONTRADICTED
    assert report.verdicts[0].describe() == "contradicted: the [ANSWER] = 0, but the run had an exception (ZeroDivisionError: division by zero)"
