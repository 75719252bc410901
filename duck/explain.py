"""Explanations written by a model: SemCoder (or a compatible model) talks through a window of
the recorded run, streamed chunk by chunk.

``load_explainer`` loads the model that the command's settings choose (flags > environment >
config file, resolved once by ``models.config.settings_for``; slow: the TUI calls it in a
worker) and returns a ``ModelExplainer``, which implements the ``Explainer`` protocol of docs/architecture.md:
``explain(session, step, scope)`` renders the window of ``scope`` (``duck.windows``) as a
SemCoder execution-reasoning prompt and streams the monologue. ``explain_value`` answers
"why is x = v here?" from the recording's provenance first, then the model.
``stream_plain_explanation`` is what ``duck run --plain`` prints when a model is configured.

This module does not narrate without a model (``duck.narrate``) and does not decide what is
true (``duck.grounding`` checks the claims against the recording). Model failures surface
as ``models.base.BackendError``; callers show them and fall back to the narrator.
"""

from __future__ import annotations

from typing import Iterator, TextIO

from models.base import Backend, BackendError
from models.prompts import ANSWER_STOP

DEFAULT_MAX_NEW_TOKENS = 768


class ModelExplainer:
    """An ``Explainer`` backed by a model backend."""

    def __init__(
        self,
        backend: Backend,
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.0,
        ground: bool = True,
    ) -> None:
        self.backend = backend
        self.name = getattr(backend, "name", type(backend).__name__)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.ground = ground  # end every explanation with the grounding check of its claims

    def prompt_for(self, session, step: int, scope: str) -> str:
        from duck.windows import window_for

        return window_for(session, step, scope).prompt()

    def explain(self, session, step: int, scope: str) -> Iterator[str]:
        """Stream the model's monologue about the window of ``scope`` around ``step``; the last
        chunk is the grounding report (claims checked against the recording) unless
        ``ground`` is off."""
        from duck.windows import window_for

        yield from self._explain_window(window_for(session, step, scope))

    def _explain_window(self, window) -> Iterator[str]:
        pieces: list[str] = []
        for chunk in self._stream(window.prompt()):
            pieces.append(chunk)
            yield chunk
        if self.ground:
            from duck.grounding import check_window

            yield "\n\n" + check_window("".join(pieces), window).render() + "\n"

    def _stream(self, prompt: str) -> Iterator[str]:
        try:
            yield from self.backend.stream(
                prompt, max_new_tokens=self.max_new_tokens, stop=[ANSWER_STOP], temperature=self.temperature
            )
        except BackendError:
            raise
        except Exception as error:  # a backend bug must not take the session down either
            raise BackendError(f"the model failed: {type(error).__name__}: {error}", "the narrator keeps explaining") from None

    def explain_value(self, session, step: int, name: str) -> Iterator[str]:
        """Why does ``name`` have its value at ``step``? The recording's answer, then the model's."""
        yield provenance(session, step, name) + "\n\n"
        changed = session.last_change(name, step)
        if changed is None:
            return
        from duck.windows import block_window, call_window

        window = block_window(session, changed) or call_window(session, changed)
        yield from self._explain_window(window)

    def cancel(self) -> None:
        cancel = getattr(self.backend, "cancel", None)
        if cancel is not None:
            cancel()

    def close(self) -> None:
        self.backend.close()


def provenance(session, step: int, name: str) -> str:
    """A paragraph from the recording alone: the value, where it was last set, and its history."""
    value = session.value_at(name, step)
    if value is None:
        return f"`{name}` has no value at step {step}."
    changed = session.last_change(name, step)
    if changed is None:
        return f"`{name}` is {value} at step {step}; the recording does not show where it was set."
    event = session.event(changed)
    lines = session.source(event.file).splitlines()
    if event.kind == "call":
        where = f"it was passed to {event.func}() as an argument (step {changed})"
    else:
        # a line event reports what the frame's previous line did
        steps = list(session.frame_steps(event.frame))
        index = steps.index(changed)
        before = steps[index - 1] if index > 0 else changed
        line = session.line(before)
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        where = f"it was set by line {line}" + (f" `{text}`" if text else "") + f" (step {before} -> {changed})"
    history = [v for at, v in session.history(name, event.frame) if v is not None and at <= step]
    text = f"`{name}` is {value} at step {step}: {where}."
    if len(history) > 1:
        shown = history[-8:]
        text += " Before that it was " + " -> ".join(shown[:-1]) + ("" if len(history) <= 8 else " (and earlier values)") + "."
    return text


def load_explainer(settings=None) -> ModelExplainer:
    """Load the model that ``settings`` (a ``models.config.Settings``; by default the environment's
    and the config file's) chooses. Raises ``BackendError``."""
    from models.config import resolve_settings
    from models.registry import load_backend, spec_from_settings

    settings = settings if settings is not None else resolve_settings()
    spec = spec_from_settings(settings)
    if spec is None:
        raise BackendError(
            "no model is configured",
            "pass --model NAME|PATH or --endpoint URL, set DUCK_MODEL / DUCK_ENDPOINT, or add model = ... to the config file",
        )
    return ModelExplainer(load_backend(spec), max_new_tokens=settings.max_new_tokens or DEFAULT_MAX_NEW_TOKENS)


def stream_plain_explanation(
    session,
    explainer: ModelExplainer,
    *,
    out: TextIO,
    scope: str = "run",
    err: TextIO | None = None,
) -> int:
    """Write the model's whole-run monologue (or the failing call's, when the run failed) and the
    grounding summary to ``out``, then close the model. Returns 0, or 1 after printing
    ``error:``/``hint:`` to ``err`` (standard error by default) when the model failed while
    answering; never raises for a model failure."""
    import sys

    err = err or sys.stderr
    from duck.windows import window_for

    try:
        if len(session) == 0:
            out.write("The recording has no steps, so there is nothing for the model to explain.\n")
            return 0
        if scope == "run" and session.exception_step() is not None:
            scope = "failure"
        step = session.exception_step() if scope == "failure" else session.first()
        window = window_for(session, step, scope)
        out.write(f"--- {explainer.name} on {window.title} ---\n")
        explainer.ground = True
        for chunk in explainer._explain_window(window):
            out.write(chunk)
            out.flush()
    except BackendError as error:
        out.write("\n")
        _print_error(err, error)
        return 1
    finally:
        try:
            explainer.close()
        except Exception:  # closing is best effort
            pass
    return 0


def _print_error(out: TextIO, error: BackendError) -> None:
    out.write(f"error: {error.message}\n")
    if error.hint:
        out.write(f"hint: {error.hint}\n")
