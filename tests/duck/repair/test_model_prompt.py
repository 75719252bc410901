"""What ``duck fix --endpoint`` sends a model: the refine prompt, with the failing run told exactly
as a PyX-R row's rationale tells the same run (one rendering: ``duck.narration.refine_simulation``).

The model is the stub OpenAI-compatible server of the backend's tests (a real ``http.server`` on
127.0.0.1 speaking SSE) that records every request body, so the test checks what actually leaves
duck.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from corpus.jobs import SampleJob, SampleRunner
from corpus.refine import rationale
from tests.models.test_openai import FakeServer, sse

BUGGY = '''def total(xs):
    s = 0
    for x in xs:
        s += x * 2
    return s
'''
CORRECT = BUGGY.replace("x * 2", "x")
CALL, EXPECTED = "total([1, 2])", "3"
PROGRAM = BUGGY + f"\n\nassert {CALL} == {EXPECTED}\n"
REFINED = f"[MONOLOGUE]\n...\n[/MONOLOGUE]\n[Refined]\n```python\n{CORRECT}\n\nassert {CALL} == {EXPECTED}\n```\n"


@pytest.fixture
def server():
    s = FakeServer()
    s.models = [{"id": "stub-semcoder"}]
    s.replies.append((200, sse(REFINED)))
    yield s
    s.close()


def _pyxr_simulation() -> str:
    """The "### Execution Simulation:" block of the PyX-R rationale for the buggy call."""
    with SampleRunner(1, unsafe=True) as pool:
        buggy = pool.run(SampleJob(BUGGY, call=CALL, trace=True, timeout_s=10.0))
        correct = pool.run(SampleJob(CORRECT, call=CALL, trace=True, timeout_s=10.0))
    assert buggy.events and correct.events
    run = {"call": CALL, "output": EXPECTED, "events": correct.events}
    response = rationale(BUGGY, CORRECT, run, buggy.events, f"returns `{buggy.text}`")
    start = response.index("### Execution Simulation:")
    end = response.index("\nThe buggy code returns")
    return response[start:end]


def test_duck_fix_tells_the_model_the_failing_run_as_a_pyxr_row_does(server, tmp_path, monkeypatch):
    from duck.cli import main

    (tmp_path / "prog.py").write_text(PROGRAM, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["fix", "prog.py", "--endpoint", server.url, "--model", "stub-semcoder", "--json",
                     "--max-candidates", "0", "--stdin", "/dev/null"])
    report = json.loads(out.getvalue())
    assert code == 0 and [f["origin"] for f in report["fixes"]] == ["model"], report
    prompts = [request["body"]["prompt"] for request in server.requests]
    assert len(prompts) == 1 and prompts[0].startswith("Debug and Refine the Code")
    told = "".join(f"# {line}\n" for line in _pyxr_simulation().splitlines())
    assert "# Let's simulate the execution of `total([1, 2])` step by step." in told
    assert "s goes from 2 to 6" in told                     # the run's real values, line-labelled
    assert told in prompts[0]                               # the very same telling, as comments
    failed_test = prompts[0][prompts[0].index("### Failed Test"):]
    assert failed_test.index("# running the program raised AssertionError") < failed_test.index(told)
