"""Short model names and backends by name, and ``load_backend`` that builds one.

Backends are named by ``"module:Class"`` strings and imported with importlib only when a
backend is built, so importing this module costs nothing (no torch, no httpx). It does not
read flags or files itself (``models.config`` merges flags, environment and config file).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from models.base import Backend, BackendError

#: Short names for the checkpoints this project is built around.
MODELS: dict[str, str] = {
    "semcoder-s": "semcoder/semcoder_s_1030",
    "semcoder": "semcoder/semcoder_1030",
    "deepseek-coder-6.7b-base": "deepseek-ai/deepseek-coder-6.7b-base",
}

#: Backends by name.
BACKENDS: dict[str, str] = {
    "hf": "models.hf:HFBackend",
    "openai": "models.openai:OpenAIBackend",
}


@dataclass(frozen=True)
class BackendSpec:
    """What to load. With ``endpoint`` the ``openai`` backend talks to a server (``model`` is then
    the name the server knows, or None for its first model); otherwise ``model`` is a registry
    name, a hub id or a local folder loaded with transformers."""

    model: str | None = None
    endpoint: str | None = None
    load_in_4bit: bool = False
    load_in_8bit: bool = False
    backend: str | None = None  # "hf" / "openai"; chosen from the fields above when None
    api_key: str | None = None
    chat: bool = False
    aliases: dict[str, str] = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # passed on to the backend's constructor

    def backend_name(self) -> str:
        if self.backend:
            return self.backend
        return "openai" if self.endpoint else "hf"


def resolve_model(name: str, aliases: dict[str, str] | None = None) -> str:
    """A short name (user's own first, then the built-in ones) -> hub id or folder; others unchanged."""
    aliases = aliases or {}
    if name in aliases:
        target = aliases[name]
        return str(Path(target).expanduser()) if target.startswith(("~", ".", "/")) else target
    return MODELS.get(name, name)


def backend_class(name: str) -> type:
    try:
        target = BACKENDS[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}", f"known backends: {', '.join(sorted(BACKENDS))}") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BackendError(
            f"the {name} backend needs packages that are not installed ({error.name or error})",
            "pip install 'semcoder-duck[model]'",
        ) from None
    return getattr(module, class_name)


def check_spec(spec: BackendSpec) -> None:
    """Raise ``BackendError`` for what is wrong with ``spec`` without loading anything (fast:
    commands call it before any work, so a typo fails at once)."""
    model = resolve_model(spec.model, spec.aliases) if spec.model else None
    if spec.backend_name() == "openai":
        if not spec.endpoint:
            raise BackendError("the openai backend needs an endpoint", "pass --endpoint URL or set DUCK_ENDPOINT")
        return
    if not model:
        raise BackendError("no model was chosen", "pass --model NAME|PATH, set DUCK_MODEL, or add model = ... to the config file")
    if model.startswith((".", "/", "~")) and not Path(model).expanduser().is_dir():
        raise BackendError(
            f"no model folder at {model}",
            "give a folder holding config.json and weights (or adapter_config.json), or a hub id such as semcoder/semcoder_s_1030",
        )


def load_backend(spec: BackendSpec) -> Backend:
    """Build the backend ``spec`` describes (slow for a local model: call it off the UI thread)."""
    check_spec(spec)
    name = spec.backend_name()
    model = resolve_model(spec.model, spec.aliases) if spec.model else None
    if name == "openai":
        return backend_class(name)(spec.endpoint, model, api_key=spec.api_key, chat=spec.chat, **spec.options)
    cls = backend_class(name)
    display = spec.model if spec.model in MODELS or spec.model in spec.aliases else None
    return cls(
        model,
        load_in_4bit=spec.load_in_4bit,
        load_in_8bit=spec.load_in_8bit,
        name=f"{display} (hf)" if display else None,
        **spec.options,
    )


def spec_from_settings(settings) -> BackendSpec | None:
    """A ``models.config.Settings`` -> a spec, or None when no model or endpoint is configured."""
    if not settings.model and not settings.endpoint:
        return None
    return BackendSpec(
        model=settings.model,
        endpoint=settings.endpoint,
        load_in_4bit=settings.load_in_4bit,
        api_key=settings.api_key,
        chat=settings.chat,
        aliases=settings.aliases,
    )
