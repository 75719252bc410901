"""Where the model settings come from: flags, then environment, then the user's config file.

The config file lives in the platform's user config folder (``platformdirs``:
``~/.config/duck/config.toml`` on Linux) and may be TOML (``config.toml``) or YAML
(``config.yaml``)::

    model = "semcoder-s"                      # a registry name, a hub id or a folder
    endpoint = "http://127.0.0.1:8000/v1"     # an OpenAI-compatible server (optional)
    api_key_env = "DUCK_API_KEY"              # the variable that holds the server's key
    load_in_4bit = false
    chat = false                              # use /v1/chat/completions instead of /v1/completions
    max_new_tokens = 768                      # the longest explanation, in tokens
    [models]                                  # your own short names
    mine = "~/checkpoints/semcoder-refine"

Environment variables: ``DUCK_MODEL``, ``DUCK_ENDPOINT``, ``DUCK_API_KEY`` (and
``DUCK_CONFIG``, another config file). This module only reads settings; it loads no model
(``models.registry`` does).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from models.base import BackendError

ENV_MODEL = "DUCK_MODEL"
ENV_ENDPOINT = "DUCK_ENDPOINT"
ENV_API_KEY = "DUCK_API_KEY"
ENV_CONFIG = "DUCK_CONFIG"
CONFIG_NAMES = ("config.toml", "config.yaml", "config.yml")


@dataclass
class UserConfig:
    model: str | None = None
    endpoint: str | None = None
    api_key_env: str = ENV_API_KEY
    load_in_4bit: bool = False
    chat: bool = False
    max_new_tokens: int | None = None
    models: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the file it came from, if any


def config_dir() -> Path:
    import platformdirs

    return platformdirs.user_config_path("duck")


def config_path(env: Mapping[str, str] | None = None) -> Path | None:
    """The config file in use: ``DUCK_CONFIG``, else the first existing one in ``config_dir()``."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    folder = config_dir()
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def load_user_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> UserConfig:
    """Read the config file; an absent file is an empty config, a broken one an error."""
    path = path or config_path(env)
    if path is None or not path.exists():
        if path is not None and env is not None and env.get(ENV_CONFIG):
            raise BackendError(f"the config file {path} (from {ENV_CONFIG}) does not exist", f"create it or unset {ENV_CONFIG}")
        return UserConfig()
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise BackendError(f"cannot read the config file {path}: {error}") from None
    except Exception as error:  # tomllib.TOMLDecodeError, yaml.YAMLError
        raise BackendError(f"the config file {path} is not valid: {error}", "fix the file, or move it away to use the defaults") from None
    if not isinstance(data, dict):
        raise BackendError(f"the config file {path} should hold keys such as model = \"semcoder-s\"")
    known = {"model", "endpoint", "api_key_env", "load_in_4bit", "chat", "max_new_tokens", "models"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BackendError(f"unknown keys in {path}: {', '.join(unknown)}", f"known keys: {', '.join(sorted(known))}")
    models = data.get("models") or {}
    if not isinstance(models, dict) or not all(isinstance(v, str) for v in models.values()):
        raise BackendError(f"[models] in {path} should map short names to model names or folders")
    return UserConfig(
        model=_opt_str(data.get("model")),
        endpoint=_opt_str(data.get("endpoint")),
        api_key_env=str(data.get("api_key_env") or ENV_API_KEY),
        load_in_4bit=bool(data.get("load_in_4bit", False)),
        chat=bool(data.get("chat", False)),
        max_new_tokens=_opt_int(data.get("max_new_tokens"), path),
        models={str(k): v for k, v in models.items()},
        path=path,
    )


def _opt_int(value, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BackendError(f"max_new_tokens in {path} should be a positive whole number, not {value!r}")
    return value


def _opt_str(value) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Settings:
    """The merged choice: which model, which server, which key, how to load."""

    model: str | None
    endpoint: str | None
    api_key: str | None
    load_in_4bit: bool
    chat: bool
    aliases: dict[str, str]
    max_new_tokens: int | None = None

    @property
    def chosen(self) -> bool:
        """Whether a model or a server is configured at all (else the narrator explains)."""
        return bool(self.model or self.endpoint)


def settings_for(args) -> Settings:
    """The model settings of a command: the one way every command (``duck run``/``fix``,
    ``duck-train corpus``/``eval``) resolves them.

    ``args`` is the command's parsed flags; ``model``, ``endpoint`` and ``load_in_4bit`` may be
    absent from it. Raises ``BackendError`` for a broken config file.
    """
    return resolve_settings(getattr(args, "model", None), getattr(args, "endpoint", None),
                            bool(getattr(args, "load_in_4bit", False)))


def resolve_settings(
    model: str | None = None,
    endpoint: str | None = None,
    load_in_4bit: bool = False,
    *,
    env: Mapping[str, str] | None = None,
    config: UserConfig | None = None,
) -> Settings:
    """Flags beat environment variables, which beat the config file (commands use ``settings_for``)."""
    env = os.environ if env is None else env
    config = config if config is not None else load_user_config(env=env)
    key_env = config.api_key_env or ENV_API_KEY
    return Settings(
        model=model or env.get(ENV_MODEL) or config.model,
        endpoint=endpoint or env.get(ENV_ENDPOINT) or config.endpoint,
        api_key=env.get(ENV_API_KEY) or env.get(key_env) or None,
        load_in_4bit=load_in_4bit or config.load_in_4bit,
        chat=config.chat,
        aliases=dict(config.models),
        max_new_tokens=config.max_new_tokens,
    )
