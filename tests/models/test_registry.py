"""Short names, backends by name, and flags > environment > config file."""

import pytest

from models.base import BackendError
from models.config import load_user_config, resolve_settings, UserConfig
from models.registry import BackendSpec, MODELS, backend_class, load_backend, resolve_model, spec_from_settings


def test_short_names():
    assert resolve_model("semcoder-s") == "semcoder/semcoder_s_1030"
    assert resolve_model("semcoder") == "semcoder/semcoder_1030"
    assert resolve_model("deepseek-coder-6.7b-base") == "deepseek-ai/deepseek-coder-6.7b-base"
    assert resolve_model("org/other") == "org/other"
    assert resolve_model("mine", {"mine": "~/ckpt"}).endswith("/ckpt")
    assert set(MODELS) >= {"semcoder-s", "semcoder"}


def test_backends_resolve_by_name():
    assert backend_class("openai").__name__ == "OpenAIBackend"
    with pytest.raises(BackendError, match="unknown backend"):
        backend_class("nope")
    assert BackendSpec(endpoint="http://x").backend_name() == "openai"
    assert BackendSpec(model="semcoder-s").backend_name() == "hf"
    with pytest.raises(BackendError, match="no model"):
        load_backend(BackendSpec())


def test_config_file_toml_and_yaml(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text('model = "semcoder-s"\nendpoint = "http://127.0.0.1:9/v1"\napi_key_env = "MY_KEY"\n[models]\nmine = "/ckpt"\n')
    config = load_user_config(toml)
    assert (config.model, config.endpoint, config.api_key_env, config.models) == ("semcoder-s", "http://127.0.0.1:9/v1", "MY_KEY", {"mine": "/ckpt"})
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text("model: semcoder\nload_in_4bit: true\n")
    assert load_user_config(yaml_file).load_in_4bit is True
    bad = tmp_path / "bad.toml"
    bad.write_text("model = \n")
    with pytest.raises(BackendError, match="not valid"):
        load_user_config(bad)
    bad.write_text("modle = 'x'\n")
    with pytest.raises(BackendError, match="unknown keys"):
        load_user_config(bad)


def test_precedence_flags_env_config(tmp_path):
    config = UserConfig(model="from-config", endpoint=None, api_key_env="MY_KEY", models={"from-config": "/c"})
    env = {"DUCK_MODEL": "from-env", "MY_KEY": "k1"}
    assert resolve_settings(None, None, env=env, config=config).model == "from-env"
    assert resolve_settings("from-flag", None, env=env, config=config).model == "from-flag"
    settings = resolve_settings(None, None, env={}, config=config)
    assert settings.model == "from-config" and settings.api_key is None
    assert resolve_settings(None, None, env=env, config=config).api_key == "k1"
    assert resolve_settings(None, None, env={"DUCK_API_KEY": "k2", "MY_KEY": "k1"}, config=config).api_key == "k2"
    spec = spec_from_settings(resolve_settings(None, None, env={"DUCK_ENDPOINT": "http://h/v1"}, config=UserConfig()))
    assert spec.backend_name() == "openai"
    assert spec_from_settings(resolve_settings(None, None, env={}, config=UserConfig())) is None


def test_config_path_from_env(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('model = "semcoder"\n')
    assert load_user_config(env={"DUCK_CONFIG": str(path)}).model == "semcoder"
    with pytest.raises(BackendError, match="does not exist"):
        load_user_config(env={"DUCK_CONFIG": str(tmp_path / "none.toml")})
