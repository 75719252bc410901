"""Model explanations: prompts from trace windows, streaming, provenance, failures, --plain."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from duck.explain import ModelExplainer, load_explainer, provenance, stream_plain_explanation
from duck.windows import window_for
from models.base import BackendError
from models.prompts import ANSWER_STOP
from tests.duck.test_windows import PROGRAM
from tests.models.traced import session_of

REPO = Path(__file__).resolve().parents[2]


class ScriptedBackend:
    """Test double: yields fixed chunks, records the prompts, can fail after some chunks."""

    name = "scripted (test)"

    def __init__(self, chunks, fail_after=None):
        self.chunks, self.fail_after, self.calls, self.closed = chunks, fail_after, [], False

    def stream(self, prompt, *, max_new_tokens=512, stop=(), temperature=0.0):
        self.calls.append((prompt, list(stop)))
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise BackendError("the model server at http://x stopped sending", "try again")
            yield chunk

    def generate(self, prompts, **kwargs):
        return ["".join(self.chunks) for _ in prompts]

    def cancel(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return session_of(tmp_path_factory.mktemp("explain"), PROGRAM)


def _step(session, func, line):
    return next(s for s in range(len(session)) if session.event(s).func == func and session.line(s) == line)


def test_explain_streams_the_window_prompt_with_the_answer_stop(session):
    backend = ScriptedBackend(["### Understanding", " the Function\n", "[ANSWER]\nassert f() == 1\n[/ANSWER]"])
    explainer = ModelExplainer(backend)
    step = _step(session, "total_even", 5)
    for scope in ("step", "call", "loop", "failure", "run"):
        chunks = list(explainer.explain(session, step, scope))
        assert "".join(chunks[:3]) == "".join(backend.chunks)
        assert chunks[3].lstrip().startswith("grounding: ")  # the claims, checked against the recording
        prompt, stop = backend.calls[-1]
        assert prompt == window_for(session, step, scope).prompt() and stop == [ANSWER_STOP]
    assert explainer.name == "scripted (test)"


def test_explain_value_gives_provenance_then_the_model(session):
    step = _step(session, "total_even", 6)
    changed = session.last_change("total", step)
    assert provenance(session, step, "total") == (
        f"`total` is 6 at step {step}: it was set by line 5 `total += n` (step {changed - 1} -> {changed}). "
        "Before that it was 0 -> 2."
    )
    backend = ScriptedBackend(["total becomes 6"])
    chunks = list(ModelExplainer(backend).explain_value(session, step, "total"))
    assert chunks[0].startswith("`total` is 6") and chunks[1] == "total becomes 6"
    assert "1 held" in chunks[2]
    assert "total += n" in backend.calls[0][0]
    assert "has no value" in provenance(session, step, "nothing")


def test_contradicted_claims_are_marked_with_the_true_value_in_the_stream(session):
    step = _step(session, "total_even", 5)
    backend = ScriptedBackend(["`total` becomes `7` and `n` is 4.\n", "[ANSWER]\nassert total_even([1, 2, 4]) == 6\n[/ANSWER]"])
    tail = list(ModelExplainer(backend).explain(session, step, "call"))[-1]
    assert "grounding: 3 claims checked against the recording, 2 held, 1 contradicted" in tail
    assert "contradicted: `total` = 7, but the run had 0, 2, 6" in tail
    assert list(ModelExplainer(backend, ground=False).explain(session, step, "call"))[-1].endswith("[/ANSWER]")


def test_backend_failure_surfaces_as_backend_error_not_a_crash(session):
    explainer = ModelExplainer(ScriptedBackend(["a", "b"], fail_after=1))
    stream = explainer.explain(session, 0, "run")
    assert next(stream) == "a"
    with pytest.raises(BackendError):
        next(stream)

    class Broken(ScriptedBackend):
        def stream(self, *a, **k):
            raise RuntimeError("boom")
            yield

    with pytest.raises(BackendError, match="boom"):
        list(ModelExplainer(Broken([])).explain(session, 0, "run"))


def test_plain_explanation_prints_monologue_and_grounding(session):
    backend = ScriptedBackend(["### Execution Simulation:\n", "`xs` is `[1]`.\n[ANSWER]\nassert mean([]) == 0\n[/ANSWER]"])
    out, err = io.StringIO(), io.StringIO()
    assert stream_plain_explanation(session, ModelExplainer(backend), out=out, err=err) == 0
    text = out.getvalue()
    assert "--- scripted (test) on the failing call mean([]) ---" in text  # the run failed: explain the failing call
    assert "contradicted: `xs` = [1], but the run had []" in text
    assert backend.closed and not err.getvalue()


def test_plain_explanation_reports_model_failure_and_returns_nonzero(session):
    out, err = io.StringIO(), io.StringIO()
    backend = ScriptedBackend(["x"], fail_after=0)
    code = stream_plain_explanation(session, ModelExplainer(backend), out=out, err=err)
    assert code == 1 and err.getvalue().startswith("error: the model server") and "hint: try again" in err.getvalue()
    assert backend.closed


def test_load_explainer_without_any_configuration(monkeypatch, tmp_path):
    for name in ("DUCK_MODEL", "DUCK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("DUCK_CONFIG", str(config))
    with pytest.raises(BackendError, match="no model is configured"):
        load_explainer()


@pytest.mark.slow
def test_duck_run_plain_with_a_tiny_local_model(tmp_path):
    """End to end: `duck run --plain --model DIR` loads a real (tiny) checkpoint and streams it."""
    pytest.importorskip("transformers")
    from tests.models.tiny import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny")
    (tmp_path / "prog.py").write_text(PROGRAM.replace("print(mean([]))", "print(mean([3]))"))
    (tmp_path / "config.toml").write_text("max_new_tokens = 40\n")
    env = dict(os.environ, OMP_NUM_THREADS="1", DUCK_CONFIG=str(tmp_path / "config.toml"), PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "duck", "run", "--plain", "--model", str(model_dir), str(tmp_path / "prog.py")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "--- tiny (hf) on the whole run ---" in result.stdout
    after = result.stdout.split("--- tiny (hf) on the whole run ---", 1)[1]
    assert len(after.split("grounding:", 1)[0].strip()) > 20  # the model's streamed text
    assert "grounding: " in after
    assert "Traceback" not in result.stderr


def test_duck_run_plain_with_an_endpoint(tmp_path):
    """End to end over HTTP: `duck run --plain --endpoint URL` streams the server's answer and grounds it."""
    from tests.models.test_openai import FakeServer, sse

    server = FakeServer()
    try:
        server.replies.append((200, sse("`total` becomes `6`, ", "then `total` becomes `9`.\n",
                                        "[ANSWER]\nassert main() == None\n", stop_reason="[/ANSWER]")))
        (tmp_path / "prog.py").write_text(PROGRAM.replace("print(mean([]))", "print(mean([3]))"))
        (tmp_path / "config.toml").write_text("")
        env = dict(os.environ, DUCK_CONFIG=str(tmp_path / "config.toml"), PYTHONPATH=str(REPO))
        result = subprocess.run(
            [sys.executable, "-m", "duck", "run", "--plain", "--endpoint", server.url, str(tmp_path / "prog.py")],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert "--- semcoder/semcoder_s_1030 (openai @ " in result.stdout
    assert "[/ANSWER]" in result.stdout
    assert "grounding: 3 claims checked against the recording, 2 held, 1 contradicted" in result.stdout
    assert "contradicted: `total` = 9, but the run had 0, 2, 6" in result.stdout
    assert server.requests[0]["body"]["prompt"].endswith("assert main() == ??\n[/PYTHON]\n[MONOLOGUE]\n")  # released layout
