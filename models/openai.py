"""A backend for OpenAI-compatible HTTP servers (vLLM, llama.cpp's server, Ollama, TGI).

Speaks ``/v1/completions`` (the default: SemCoder prompts are plain text) or
``/v1/chat/completions`` (``chat=True``, the prompt becomes one user message), streamed as
server-sent events, with timeouts, retries with exponential backoff on connection errors,
429 and 5xx answers, and clear errors for an unreachable server, an unknown model, a refused
key or a reply that is not the protocol. It uses httpx and nothing heavy; it does not build
prompts or parse answers.

Servers drop the stop string from their output; when the server names the stop string it
stopped on (vLLM's ``stop_reason``), it is put back, so every backend's text ends the same
way (``...[/ANSWER]``). Parsers accept a missing closing tag either way.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Iterator, Sequence

import httpx

from models.base import SAMPLING_TOP_P, BackendError, StopScanner, truncate_at_stop

RETRY_STATUS = {429, 500, 502, 503, 504}


def normalise_endpoint(endpoint: str) -> str:
    """``http://h:8000`` / ``.../v1`` / ``.../v1/completions`` -> ``http://h:8000/v1``."""
    url = endpoint.strip().rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    if not url.startswith(("http://", "https://")):
        raise BackendError(f"the endpoint {endpoint!r} is not an http(s) URL", "give e.g. --endpoint http://127.0.0.1:8000/v1")
    if not url.endswith("/v1"):
        url += "/v1"
    return url


class OpenAIBackend:
    """Completions from an OpenAI-compatible server. ``model=None`` asks the server for its first model."""

    def __init__(
        self,
        endpoint: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        chat: bool = False,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.base_url = normalise_endpoint(endpoint)
        self.chat = chat
        self.retries = retries
        self.backoff_s = backoff_s
        self._active: set[threading.Event] = set()  # one per running stream; cancel() sets them
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        )
        self.model = model or self._first_model()
        self.name = name or f"{self.model} (openai @ {self.base_url})"

    # ---- HTTP with retries ---------------------------------------------------------------

    def _send(self, method: str, path: str, payload: dict | None = None, *, stream: bool = False) -> httpx.Response:
        """Send a request, retrying what may pass; return a response with a 2xx status."""
        attempt = 0
        while True:
            try:
                request = self._client.build_request(method, path, json=payload)
                response = self._client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError) as error:
                if attempt < self.retries:
                    self._wait(attempt)
                    attempt += 1
                    continue
                raise BackendError(
                    f"cannot reach the model server at {self.base_url} ({type(error).__name__}: {error})",
                    "start the server (e.g. `vllm serve semcoder/semcoder_s_1030`) or fix --endpoint / DUCK_ENDPOINT",
                ) from None
            except httpx.TimeoutException:
                raise BackendError(
                    f"the model server at {self.base_url} did not answer in time",
                    "the server may be overloaded or the model still loading; try again, or raise the timeout",
                ) from None
            if response.status_code in RETRY_STATUS and attempt < self.retries:
                response.close()
                self._wait(attempt)
                attempt += 1
                continue
            if response.status_code >= 400:
                if stream:
                    response.read()
                response.close()
                raise self._status_error(response, path)
            return response

    def _wait(self, attempt: int) -> None:
        if self.backoff_s > 0:
            time.sleep(self.backoff_s * (2 ** attempt))

    def _status_error(self, response: httpx.Response, path: str) -> BackendError:
        detail = _error_detail(response)
        status = response.status_code
        if status == 404:
            if "model" in detail.lower():
                return BackendError(
                    f"the server at {self.base_url} has no model {getattr(self, 'model', None)!r}: {detail}",
                    "name a model the server serves (GET /v1/models lists them) with --model",
                )
            return BackendError(
                f"{self.base_url}{path} does not exist (404)",
                "is this an OpenAI-compatible server? the endpoint should end in /v1",
            )
        if status in (401, 403):
            return BackendError(f"the model server refused the request ({status}): {detail}", "set DUCK_API_KEY (or api_key_env in the config file)")
        return BackendError(f"the model server answered {status}: {detail}", "check the server's log")

    def _first_model(self) -> str:
        response = self._send("GET", "/models")
        try:
            models = response.json()["data"]
            return models[0]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendError(
                f"{self.base_url}/models did not list any model",
                "name the model with --model (or DUCK_MODEL)",
            ) from None

    # ---- requests ------------------------------------------------------------------------

    def _payload(self, prompt: str | list[str], max_new_tokens: int, stop: Sequence[str], temperature: float, n: int, stream: bool) -> tuple[str, dict]:
        payload: dict = {"model": self.model, "max_tokens": max_new_tokens, "temperature": temperature, "n": n, "stream": stream}
        if temperature > 0:
            payload["top_p"] = SAMPLING_TOP_P
        if stop:
            payload["stop"] = list(stop)
        if self.chat:
            payload["messages"] = [{"role": "user", "content": prompt}]
            return "/chat/completions", payload
        payload["prompt"] = prompt
        return "/completions", payload

    def count_tokens(self, prompt: str) -> int | None:
        """The prompt's length from the server's ``POST /tokenize`` (vLLM's, beside ``/v1``);
        None when the server has no such route or answers something else."""
        url = self.base_url[: -len("/v1")] + "/tokenize"
        try:
            response = self._client.post(url, json={"model": self.model, "prompt": prompt})
            count = response.json().get("count") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    def _choice_text(self, choice: dict) -> str:
        if self.chat:
            part = choice.get("delta") or choice.get("message") or {}
            return part.get("content") or ""
        return choice.get("text") or ""

    def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 512,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
    ) -> Iterator[str]:
        cancel = threading.Event()
        path, payload = self._payload(prompt, max_new_tokens, stop, temperature, 1, True)
        response = self._send("POST", path, payload, stream=True)
        self._active.add(cancel)
        scanner = StopScanner(stop)
        stopped_on = None
        try:
            for line in response.iter_lines():
                if cancel.is_set():
                    return
                line = line.strip()
                if not line or line.startswith(":") or not line.startswith("data:"):
                    continue
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    raise BackendError(
                        f"the model server sent a stream event that is not JSON: {data[:80]!r}",
                        "is --endpoint an OpenAI-compatible server?",
                    ) from None
                if not isinstance(event, dict):
                    raise BackendError(f"unexpected stream event from the model server: {data[:80]!r}")
                if "error" in event:
                    raise BackendError(f"the model server failed while generating: {_message(event['error'])}")
                for choice in event.get("choices") or []:
                    stopped_on = _stopped_on(choice, stop) or stopped_on
                    out = scanner.feed(self._choice_text(choice))
                    if out:
                        yield out
                if scanner.stopped:
                    return
            rest = scanner.flush()
            if stopped_on:
                rest += stopped_on
            if rest:
                yield rest
        except httpx.TimeoutException:
            raise BackendError(f"the model server at {self.base_url} stopped sending in the middle of an answer", "try again") from None
        except httpx.TransportError as error:
            raise BackendError(f"the connection to {self.base_url} broke while streaming: {error}", "try again") from None
        finally:
            self._active.discard(cancel)
            response.close()

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 512,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        n: int = 1,
    ) -> list[str]:
        groups = [list(prompts)] if not self.chat else [[p] for p in prompts]
        results: list[str] = []
        for group in groups:
            if not group:
                continue
            path, payload = self._payload(group if not self.chat else group[0], max_new_tokens, stop, temperature, n, False)
            response = self._send("POST", path, payload)
            try:
                choices = response.json()["choices"]
                choices = sorted(choices, key=lambda c: c.get("index", 0))
                texts = [self._choice_text(c) for c in choices]
                finishes = [_stopped_on(c, stop) for c in choices]
            except (ValueError, KeyError, TypeError, AttributeError):
                raise BackendError(
                    f"the model server's answer is not an OpenAI completion: {response.text[:80]!r}",
                    "is --endpoint an OpenAI-compatible server?",
                ) from None
            if len(texts) != len(group) * n:
                raise BackendError(f"the model server returned {len(texts)} completions for {len(group) * n} asked")
            for text, stopped_on in zip(texts, finishes):
                text, found = truncate_at_stop(text, stop)
                if stopped_on and not found:
                    text += stopped_on
                results.append(text)
        return results

    def cancel(self) -> None:
        """Stop the streams running now (they end at their next chunk)."""
        for event in list(self._active):
            event.set()

    def close(self) -> None:
        self.cancel()
        self._client.close()


def _stopped_on(choice: dict, stop: Sequence[str]) -> str | None:
    reason = choice.get("stop_reason")
    return reason if isinstance(reason, str) and reason in stop else None


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        if "error" in body:
            return _message(body["error"])
        if "detail" in body:
            return str(body["detail"])[:200]
        if "message" in body:
            return str(body["message"])[:200]
    return str(body)[:200]


def _message(error) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)[:200]
    return str(error)[:200]
