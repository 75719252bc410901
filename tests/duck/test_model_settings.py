"""`duck run` and `duck fix` take their model from flags, else DUCK_MODEL / DUCK_ENDPOINT /
DUCK_API_KEY, else the config file (with its ``[models]`` names), with no flag given."""

from __future__ import annotations

import argparse

import pytest

from duck.cli import main
from tests.models.test_openai import FakeServer, sse

PROGRAM = "def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n\nprint(total([1, 2]))\n"


@pytest.fixture
def clean_settings(monkeypatch, tmp_path):
    """No model settings from the machine running the tests: an empty config file, no variables."""
    for name in ("DUCK_MODEL", "DUCK_ENDPOINT", "DUCK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("DUCK_CONFIG", str(config))
    return config


@pytest.fixture
def server():
    fake = FakeServer()
    fake.replies.append((200, sse("`t` becomes `3`.\n", "[ANSWER]\nassert total([1, 2]) == 3\n", stop_reason="[/ANSWER]")))
    yield fake
    fake.close()


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    return path


def test_run_plain_explains_with_the_server_and_key_from_the_environment(clean_settings, server, program,
                                                                          monkeypatch, capsys):
    monkeypatch.setenv("DUCK_ENDPOINT", server.url)
    monkeypatch.setenv("DUCK_API_KEY", "key-from-env")
    assert main(["run", "--plain", str(program)]) == 0
    out = capsys.readouterr().out
    assert "--- semcoder/semcoder_s_1030 (openai @ " in out and "[/ANSWER]" in out
    assert server.requests[0]["auth"] == "Bearer key-from-env"


def test_run_plain_explains_with_the_config_file_and_its_model_names(clean_settings, server, program, capsys):
    clean_settings.write_text(f'endpoint = "{server.url}"\nmodel = "mine"\n[models]\nmine = "served-by-name"\n')
    assert main(["run", "--plain", str(program)]) == 0
    assert "--- served-by-name (openai @ " in capsys.readouterr().out
    assert server.requests[0]["body"]["model"] == "served-by-name"


def test_run_stops_before_recording_when_the_configured_model_is_missing(clean_settings, program, tmp_path,
                                                                         monkeypatch, capsys):
    monkeypatch.setenv("DUCK_MODEL", str(tmp_path / "no-such-model"))
    trace = tmp_path / "kept.trace"
    assert main(["run", "--plain", "--save", str(trace), str(program)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no model folder at {tmp_path / 'no-such-model'}") and "\nhint: " in err
    assert not trace.exists()  # nothing was recorded


def test_the_ui_loads_the_model_of_the_environment(clean_settings, server, program, monkeypatch):
    from duck.cli import parse_command_line
    from duck.commands.run import collaborators
    from models.config import settings_for

    monkeypatch.setenv("DUCK_ENDPOINT", server.url)
    args = parse_command_line(["run", str(program)])[1]
    parts = collaborators(settings=settings_for(args))
    explainer = parts.model_loader()
    assert explainer.backend.base_url == server.url
    explainer.close()


def test_fix_loads_the_model_of_the_environment(clean_settings, program, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DUCK_MODEL", str(tmp_path / "env-model"))
    assert main(["fix", str(program), "--expect", "4"]) == 2
    assert f"no model folder at {tmp_path / 'env-model'}" in capsys.readouterr().err


def test_fix_loads_a_model_named_in_the_config_file(clean_settings, program, tmp_path, capsys):
    clean_settings.write_text(f'model = "mine"\n[models]\nmine = "{tmp_path / "aliased-model"}"\n')
    assert main(["fix", str(program), "--expect", "4"]) == 2
    assert f"no model folder at {tmp_path / 'aliased-model'}" in capsys.readouterr().err


def test_flags_beat_the_environment(clean_settings, monkeypatch):
    from models.config import settings_for

    monkeypatch.setenv("DUCK_MODEL", "from-env")
    assert settings_for(argparse.Namespace(model="from-flag", endpoint=None)).model == "from-flag"
    assert settings_for(argparse.Namespace()).model == "from-env"
