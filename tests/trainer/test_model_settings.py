"""`duck-train corpus` and `duck-train eval` take their model as `duck run` does: flags, else
DUCK_MODEL / DUCK_ENDPOINT / DUCK_API_KEY, else the config file and its ``[models]`` names."""

from __future__ import annotations

import json

from tests.duck.test_model_settings import clean_settings, server  # noqa: F401 - fixtures
from trainer.cli import main


def test_corpus_loads_the_model_of_the_environment(clean_settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DUCK_MODEL", str(tmp_path / "env-model"))
    assert main(["corpus", "synthesize", "--out", str(tmp_path / "corpus"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no model folder at {tmp_path / 'env-model'}") and "\nhint: " in err


def test_corpus_resolves_server_key_and_model_names_once(clean_settings, monkeypatch):
    from corpus.cli import _model_spec
    from trainer.cli import build_parser

    clean_settings.write_text('model = "mine"\n[models]\nmine = "served-by-name"\n')
    monkeypatch.setenv("DUCK_ENDPOINT", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DUCK_API_KEY", "key-from-env")
    args = build_parser().parse_args(["corpus", "monologue", "--out", "x"])
    spec = _model_spec(args)
    assert (spec.endpoint, spec.model, spec.api_key) == ("http://127.0.0.1:9/v1", "mine", "key-from-env")
    assert spec.aliases == {"mine": "served-by-name"}
    assert _model_spec(build_parser().parse_args(["corpus", "extract", "--out", "x"])) is None  # no model stage


def test_eval_scores_the_server_of_the_environment_with_its_key_and_model_name(clean_settings, server, tmp_path,
                                                                                 monkeypatch, capsys):
    data = tmp_path / "crux.jsonl"
    data.write_text(json.dumps({"id": "sample_0", "code": "def f(x):\n    return x + 1", "input": "1", "output": "2"}) + "\n")
    # the first request asks the server for the prompt's length (vLLM's /tokenize): this one has none
    server.replies[:] = [(404, {}), (200, {"choices": [{"index": 0, "text": "[ANSWER]\nassert f(1) == 2\n", "finish_reason": "stop"}]})]
    clean_settings.write_text('model = "mine"\n[models]\nmine = "served-by-name"\n')
    monkeypatch.setenv("DUCK_ENDPOINT", server.url)
    monkeypatch.setenv("DUCK_API_KEY", "key-from-env")
    assert main(["eval", "cruxeval-o", "--data", str(data), "--workers", "1", "--output", str(tmp_path / "r.json"),
                 "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["scores"]["CRUXEval-O"]["pass@1"] == 100.0
    assert server.requests[0]["auth"] == "Bearer key-from-env"
    assert server.requests[0]["body"]["model"] == "served-by-name"
    assert "key-from-env" not in (tmp_path / "r.json").read_text()


def test_eval_without_any_model_says_what_to_give(clean_settings, tmp_path, capsys):
    (tmp_path / "crux.jsonl").write_text("{}\n")
    assert main(["eval", "cruxeval-o", "--data", str(tmp_path / "crux.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: nothing to score") and "DUCK_MODEL" in err
