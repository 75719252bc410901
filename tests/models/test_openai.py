"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 speaking SSE."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models.base import BackendError
from models.openai import OpenAIBackend, normalise_endpoint


class FakeServer:
    """A scripted OpenAI-compatible server: ``replies`` is consumed one per POST."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: list = []
        self.models = [{"id": "semcoder/semcoder_s_1030"}]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, content_type="application/json"):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    self._send(200, json.dumps({"data": server.models}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                reply = server.replies.pop(0) if server.replies else (500, "{}")
                if reply == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                status, payload = reply
                if isinstance(payload, list):  # SSE events
                    text = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in payload)
                    self._send(status, ": keep-alive\n\n" + text, "text/event-stream")
                else:
                    self._send(status, payload if isinstance(payload, str) else json.dumps(payload))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def shared_server():
    s = FakeServer()
    yield s
    s.close()


@pytest.fixture
def server(shared_server):
    shared_server.requests.clear()
    shared_server.replies.clear()
    return shared_server


def sse(*texts, stop_reason=None, chat=False):
    events = []
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        choice = {"index": 0, "finish_reason": "stop" if last else None}
        if last and stop_reason:
            choice["stop_reason"] = stop_reason
        choice.update({"delta": {"content": text}} if chat else {"text": text})
        events.append({"choices": [choice]})
    return events + ["[DONE]"]


def backend(server, **kwargs):
    kwargs.setdefault("backoff_s", 0)
    return OpenAIBackend(server.url, **kwargs)


def test_streams_completions_and_restores_the_stop_string(server):
    server.replies.append((200, sse("### Execution", " Simulation:\n", "assert f(1) == 2\n", stop_reason="[/ANSWER]")))
    b = backend(server, api_key="secret")
    assert b.model == "semcoder/semcoder_s_1030"  # asked the server
    chunks = list(b.stream("PROMPT", max_new_tokens=64, stop=["[/ANSWER]"]))
    assert "".join(chunks) == "### Execution Simulation:\nassert f(1) == 2\n[/ANSWER]"
    request = server.requests[0]
    assert request["path"] == "/v1/completions" and request["auth"] == "Bearer secret"
    assert request["body"]["prompt"] == "PROMPT" and request["body"]["stream"] is True
    assert request["body"]["stop"] == ["[/ANSWER]"] and request["body"]["max_tokens"] == 64


def test_chat_streaming_and_batched_generate(server):
    server.replies.append((200, sse("he", "llo", chat=True)))
    b = backend(server, model="m", chat=True)
    assert "".join(b.stream("hi")) == "hello"
    assert server.requests[0]["body"]["messages"] == [{"role": "user", "content": "hi"}]
    server.replies.append((200, {"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "length"}]}))
    assert b.generate(["p"]) == ["x"]
    plain = backend(server, model="m")
    server.replies.append((200, {"choices": [{"index": 1, "text": "b [/ANSWER] junk"}, {"index": 0, "text": "a", "stop_reason": "[/ANSWER]"}]}))
    assert plain.generate(["p1", "p2"], stop=["[/ANSWER]"]) == ["a[/ANSWER]", "b [/ANSWER]"]


def test_retries_5xx_and_dropped_connections_then_succeeds(server):
    server.replies += [(503, {"error": "busy"}), "drop", (200, sse("ok"))]
    b = backend(server, model="m", retries=3)
    assert "".join(b.stream("p")) == "ok"
    assert len(server.requests) == 3


def test_gives_up_after_retries_with_a_clear_error(server):
    server.replies += [(502, "bad gateway")] * 3
    b = backend(server, model="m", retries=2)
    with pytest.raises(BackendError, match="502"):
        list(b.stream("p"))


def test_unknown_model_and_unauthorised(server):
    server.replies.append((404, {"error": {"message": "The model `nope` does not exist."}}))
    with pytest.raises(BackendError, match="no model 'nope'") as info:
        list(backend(server, model="nope").stream("p"))
    assert "--model" in info.value.hint
    server.replies.append((401, {"error": {"message": "bad key"}}))
    with pytest.raises(BackendError, match="refused") as info:
        list(backend(server, model="m").stream("p"))
    assert "DUCK_API_KEY" in info.value.hint


def test_bad_json_in_the_stream(server):
    server.replies.append((200, ["{not json"]))
    with pytest.raises(BackendError, match="not JSON"):
        list(backend(server, model="m").stream("p"))
    server.replies.append((200, "<html>hello</html>"))
    with pytest.raises(BackendError, match="not an OpenAI completion"):
        backend(server, model="m").generate(["p"])


def test_unreachable_server():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(BackendError, match="cannot reach") as info:
        OpenAIBackend(f"http://127.0.0.1:{port}", model="m", retries=1, backoff_s=0).generate(["p"])
    assert "--endpoint" in info.value.hint


def test_endpoint_forms():
    assert normalise_endpoint("http://h:1") == "http://h:1/v1"
    assert normalise_endpoint("http://h:1/v1/completions") == "http://h:1/v1"
    assert normalise_endpoint("http://h:1/v1/chat/completions/") == "http://h:1/v1"
    with pytest.raises(BackendError):
        normalise_endpoint("h:1")


def test_cancel_stops_a_running_stream_and_explainer_uses_the_server(server, tmp_path):
    server.replies.append((200, sse("one ", "two ", "three")))
    b = backend(server, model="m")
    stream = b.stream("p")
    assert next(stream) == "one "
    b.cancel()
    assert list(stream) == []
    # duck's explainer over the real HTTP path
    from duck.explain import ModelExplainer
    from tests.duck.test_windows import PROGRAM
    from tests.models.traced import session_of

    session = session_of(tmp_path, PROGRAM)
    server.replies.append((200, sse("`xs` is `[]`.\n", "[ANSWER]\nassert mean([]) == 0\n", stop_reason="[/ANSWER]")))
    text = "".join(ModelExplainer(b).explain(session, 0, "failure"))
    assert "[/ANSWER]" in text and "grounding: 2 claims checked against the recording, 1 held, 1 contradicted" in text
    assert "contradicted: the [ANSWER] = 0, but the run had an exception (ZeroDivisionError: division by zero)" in text
    assert "assert mean([]) == ??" in server.requests[-1]["body"]["prompt"]
