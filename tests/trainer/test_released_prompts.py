"""What duck sends is what the released SemCoder evaluation sends.

`duck-train eval` runs against a stub OpenAI-compatible server (a real ``http.server`` on
127.0.0.1) that records every request body; the prompts in those bodies are compared byte for
byte with prompts built here, in this file, from the released code's rules (experiments/
cruxeval_prompts.py, cruxeval_utils.py and run_evalplus.py of ARiSE-Lab/SemCoder, as
../shared/DESIGN.md section 5 states them), never with duck's own prompt functions. The
decoding fields of the requests are checked against the released scripts too.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.trainer.fixtures import CRUX, HAVE_BENCHMARKS, HUMANEVAL, MBPP

pytestmark = pytest.mark.skipif(not HAVE_BENCHMARKS, reason="benchmark data not in ../shared/data")

# ---- the released prompts, written out from the release's rules ----------------------------
FORWARD_HEAD = ("Simulate the Execution: You are given a Python function and an assertion containing a function "
                "input. Complete the assertion containing the execution output corresponding to the given input in "
                "[ANSWER] and [/ANSWER] tags.\n")
BACKWARD_HEAD = ("Deduce the Semantic Constraints: You are given a Python program and its expected output. Find one "
                 "input such that executing the program with the input leads to the given output. Complete the "
                 "assertion with one such input in between [ANSWER] and [/ANSWER].\n")
NL2CODE = ("You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
           "<Code> according to <NL_Description>\n\n<NL_Description>\n{instruction}\n\n<Code>\n{response}")


def released_cruxeval_o(row: dict) -> str:
    code = row["code"].replace("'", '"')
    given = row["input"].replace("'", '"')
    lines = code.split("\n")
    for i, line in enumerate(lines, 1):
        if line.strip() != "":
            lines[i - 1] = f"{line} # [L{i + 4}]"
    code = "\n".join(lines)
    return FORWARD_HEAD + f"[PYTHON]\n{code}\nassert f({given}) == ??\n[/PYTHON]\n[MONOLOGUE]\n"


def released_cruxeval_i(row: dict) -> str:
    code = row["code"].replace("'", '"')
    output = row["output"].replace("'", '"')
    return BACKWARD_HEAD + f"PYTHON]\n{code}\nassert f(??) == {output}\n[/PYTHON]\n\n[MONOLOGUE]\n"


def released_humaneval(row: dict) -> str:
    prompt = row["prompt"].strip()
    instruction = f"Write a solution to the following problem:\n```python\n{prompt}\n```"
    return NL2CODE.format(instruction=instruction, response=f"```python\n{prompt}")


def released_mbpp(row: dict) -> str:
    prompt = row["prompt"]
    prompt = prompt[prompt.index('"""') + 3: prompt.rindex('"""')]
    at = prompt.index("assert")
    instruction = prompt[:at].strip()
    if not instruction.endswith("."):
        instruction += "."
    assertion = prompt[at:].strip()
    instruction = f"{instruction} Your code should satisfy the following assertion:\n```python\n{assertion}\n```"
    return NL2CODE.format(instruction=instruction, response="```python")


# ---- a stub server that records what arrives ------------------------------------------------
class RecordingServer:
    """/v1/models, /v1/completions (non-streamed) and vLLM's /tokenize (a stated count)."""

    TOKENS = 100  # what /tokenize answers for any prompt

    def __init__(self, answer):
        self.bodies: list[dict] = []
        self.answer = answer
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._json({"data": [{"id": "stub-semcoder"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/tokenize":
                    self._json({"count": server.TOKENS})
                    return
                server.bodies.append(body)
                prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
                self._json({"choices": [{"index": i, "text": server.answer(p), "finish_reason": "stop"}
                                        for i, p in enumerate(prompts)]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def sent(self) -> list[tuple[str, dict]]:
        """Every prompt that arrived, with the request it came in."""
        return [(p, b) for b in self.bodies for p in (b["prompt"] if isinstance(b["prompt"], list) else [b["prompt"]])]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = RecordingServer(lambda prompt: "\n    return None\n" if "<Code>" in prompt else
                        "...\n[/MONOLOGUE]\n[ANSWER]\nassert f(1) == 1\n[/ANSWER]")
    yield s
    s.close()


def _eval(*argv: str) -> dict:
    from trainer.cli import main

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["eval", *argv, "--workers", "1", "--json"]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _rows(path: Path, limit: int) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line, _ in zip(handle, range(limit))]


# sample_2 and sample_3 hold single quotes (the released loader turns them into double quotes)
@pytest.mark.parametrize("benchmark, build", [("cruxeval-o", released_cruxeval_o), ("cruxeval-i", released_cruxeval_i)])
def test_cruxeval_prompts_leave_duck_as_released(server, tmp_path, benchmark, build):
    rows = _rows(CRUX, 6)
    assert any("'" in r["code"] for r in rows)
    result = _eval(benchmark, "--endpoint", server.url, "--data", str(CRUX), "--limit", "6",
                   "--output", str(tmp_path / "r.json"))
    sent = server.sent()
    assert [p for p, _ in sent] == [build(r) for r in rows]
    for _, body in sent:  # the released decoding: T=0.2, top_p 0.95, prompt + answer = 4096 tokens
        assert body["temperature"] == 0.2 and body["top_p"] == 0.95
        assert body["max_tokens"] == 4096 - RecordingServer.TOKENS
        assert body["stop"] == ["[/ANSWER]"]
    assert result["decoding"][benchmark]["max_total_tokens"] == 4096


def test_greedy_is_a_flag(server, tmp_path):
    _eval("cruxeval-o", "--endpoint", server.url, "--data", str(CRUX), "--limit", "1", "--greedy",
          "--output", str(tmp_path / "r.json"))
    (_, body), = server.sent()
    assert body["temperature"] == 0 and "top_p" not in body


@pytest.mark.parametrize("benchmark, path, build", [("humaneval", HUMANEVAL, released_humaneval),
                                                    ("mbpp", MBPP, released_mbpp)])
def test_evalplus_prompts_leave_duck_as_released(server, tmp_path, benchmark, path, build):
    rows = _rows(path, 3)
    _eval(benchmark, "--endpoint", server.url, "--data", str(path), "--limit", "3", "--base-only",
          "--output", str(tmp_path / "r.json"))
    sent = server.sent()
    assert [p for p, _ in sent] == [build(r) for r in rows]
    for _, body in sent:  # the released decoding: greedy, 512 new tokens, cut at the next fence
        assert body["temperature"] == 0 and body["max_tokens"] == 512 and body["stop"] == ["```"]
    generations = [json.loads(line) for line in (tmp_path / "r.generations.jsonl").read_text().splitlines()]
    assert all(g["completion"] == "\n    return None\n" for g in generations)


def test_refine_rounds_show_the_failed_test_as_released(tmp_path):
    """Round 0 is the released NL->code prompt; a refine round shows `retv = ...` / `assert retv == ...`
    and samples at the released T=0.6 (HumanEval), top_p 0.95, 512 new tokens."""
    row = _rows(HUMANEVAL, 1)[0]
    server = RecordingServer(lambda prompt: "\n    return None\n" if "<Code>" in prompt else
                             "[MONOLOGUE]\n...\n[/MONOLOGUE]\n[Refined]\n```python\ndef x():\n    pass\n```\n[/Refined]")
    try:
        _eval("refine", "--endpoint", server.url, "--data", str(HUMANEVAL), "--limit", "1", "--rounds", "1",
              "--output", str(tmp_path / "r.json"))
        (first, body0), (second, body1) = server.sent()
    finally:
        server.close()
    assert first == released_humaneval(row)
    solution = row["prompt"] + "\n    return None\n"
    head, _, fault = second.partition("[/Refined].\n")
    assert head.startswith("Debug and Refine the Code: You are given a a problem")
    problem, _, rest = fault.partition("\n\n### Buggy Solution\n```python\n")
    assert problem == "### Problem\n" + row["prompt"]
    code, _, test = rest.partition("\n```\n\n### Failed Test\n```python\n")
    assert code == solution.rstrip("\n")
    call, _, expected = test.partition("\nassert retv == ")
    assert call.startswith(f"retv = {row['entry_point']}(")
    assert expected.endswith("\n\n```\n\n")  # the released template: the test ends in a newline, empty response
    assert body1["temperature"] == 0.6 and body1["top_p"] == 0.95 and body1["max_tokens"] == 512
    assert body0["temperature"] == 0 and body0["max_tokens"] == 512


def test_every_benchmark_item_is_prompted_as_released():
    """All 800 CRUXEval samples both ways, all 164 HumanEval+ and all 378 MBPP+ tasks."""
    from trainer.eval import cruxeval, evalplus
    from trainer.eval.data import load_cruxeval, load_evalplus

    rows = _rows(CRUX, 10_000)
    samples = load_cruxeval(CRUX)
    assert len(rows) == 800
    assert [cruxeval.prompt(s, "output") for s in samples] == [released_cruxeval_o(r) for r in rows]
    assert [cruxeval.prompt(s, "input") for s in samples] == [released_cruxeval_i(r) for r in rows]
    for path, dataset, build, count in ((HUMANEVAL, "humaneval", released_humaneval, 164),
                                        (MBPP, "mbpp", released_mbpp, 378)):
        tasks, rows = load_evalplus(path, dataset), _rows(path, 10_000)
        assert len(tasks) == count
        assert [evalplus.code_prompt(t) for t in tasks] == [build(r) for r in rows]


def test_eval_reads_the_benchmark_from_the_data_folder(server, tmp_path, monkeypatch):
    """`duck-train data import` once, then `duck-train eval` without --data."""
    from trainer.cli import main

    monkeypatch.setenv("DUCK_DATA_DIR", str(tmp_path / "data"))
    assert main(["eval", "cruxeval-o", "--endpoint", server.url, "--limit", "1"]) == 2  # nothing imported yet
    assert main(["data", "import", "--from", str(CRUX), str(MBPP)]) == 0
    assert (tmp_path / "data" / "cruxeval.jsonl").read_bytes() == CRUX.read_bytes()
    assert gzip.decompress((tmp_path / "data" / "MbppPlus.jsonl.gz").read_bytes()) == gzip.decompress(MBPP.read_bytes())
    result = _eval("cruxeval-o", "--endpoint", server.url, "--limit", "1", "--output", str(tmp_path / "r.json"))
    assert result["settings"]["data"] == str(tmp_path / "data" / "cruxeval.jsonl")
    assert [p for p, _ in server.sent()] == [released_cruxeval_o(_rows(CRUX, 1)[0])]
