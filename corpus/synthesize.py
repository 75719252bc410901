"""The synthesize stage: OSS-Instruct style problems, solutions and tests written by a model.

Each seed snippet (cut by the seeds stage from real code) is shown to a model with an
OSS-Instruct prompt asking for a self-contained problem, a solution ``def f(...)`` and
``assert f(...) == ...`` tests. The answer is parsed, and the solution and its tests run in the
sandbox; a sample that does not parse or run is sent back once with the error (the retry
prompt quotes it), and kept only if the second answer runs. Tests must call ``f`` with literal
arguments and compare with a literal; the calls run confined (``corpus.jobs``) and only their
values come back, which are compared with the tests' literals here. Kept samples carry the problem
(the NL->code row's description), the solution and the tests' calls; the execute stage then
records their outputs like any extracted function. Shards per chunk of seeds make the stage
resumable. This module does not load models (``models.registry`` does) and does not judge
the problem's quality beyond "it parses, runs and passes its own tests".
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from corpus.extract import FORBIDDEN_NAMES, PURE_MODULES
from corpus.jobs import Outcome, SampleJob, SampleRunner
from corpus.shards import StageRun, chunked, count, read_stage, require_stage
from duck.sandbox.values import decode, literal_call, literal_text, same
from models.parse import split_assertion

SEEDS_PER_SHARD = 32
TESTS_STOP = "[/Tests]"
MAX_TESTS = 5

PROMPT = """You are exceptionally skilled at crafting high-quality programming problems and offering precise solutions.
Please gain inspiration from the following random code snippet to create a high-quality programming problem.

Code snippet for inspiration:
```python
{snippet}
```

Guidelines:
- [Problem Description]: completely self-contained, it gives all the information needed to solve the problem: what the function `f` receives and what it returns.
- [Solution]: one Python function named `f` in a ```python block; standard library only (no imports outside math, re, itertools, collections, functools, string, heapq, bisect, operator); no input, files, network, randomness or printing.
- [Tests]: 3 to 5 lines `assert f(...) == ...` in a ```python block, with literal arguments and results.

[Problem Description]
"""

RETRY = """{previous}
{stop}

Running the [Solution] with the [Tests] failed:
{error}

Write the three sections again, correcting the solution or the tests.

[Problem Description]
"""


@dataclass(frozen=True)
class Synthesized:
    """One parsed answer: the problem, the solution's code and the test assertions."""

    problem: str
    code: str
    tests: list[str]


def prompt_for(snippet: str) -> str:
    return PROMPT.format(snippet=snippet.rstrip())


def retry_prompt(first_prompt: str, answer: str, error: str) -> str:
    previous = first_prompt + answer.split(TESTS_STOP)[0].rstrip()
    return RETRY.format(previous=previous, stop=TESTS_STOP, error=error.strip()[:800])


_SECTION = re.compile(r"^\s*\[(Problem Description|Solution|Tests)\]\s*$", re.MULTILINE)
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)(?:```|$)", re.DOTALL)


def parse_answer(answer: str) -> tuple[Synthesized | None, str]:
    """The model's three sections (the prompt opened the first), or ``(None, why not)``."""
    text = "[Problem Description]\n" + answer.split(TESTS_STOP)[0]
    parts: dict[str, str] = {}
    matches = list(_SECTION.finditer(text))
    for match, following in zip(matches, matches[1:] + [None]):
        parts.setdefault(match.group(1), text[match.end():following.start() if following else len(text)].strip())
    problem = parts.get("Problem Description", "")
    if not problem or "Solution" not in parts or "Tests" not in parts:
        return None, "the answer lacks a [Problem Description], [Solution] or [Tests] section"
    code, tests_text = _code(parts["Solution"]), _code(parts["Tests"])
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as error:
        return None, f"the solution does not parse: {error}"
    if not any(isinstance(n, ast.FunctionDef) and n.name == "f" for n in tree.body):
        return None, "the solution does not define a function named `f`"
    unsafe = _unsafe(tree)
    if unsafe:
        return None, f"the solution uses {unsafe}, which the guidelines exclude"
    tests = []
    for line in tests_text.splitlines():
        line = line.strip()
        if not line.startswith("assert "):
            continue
        parts_ = split_assertion(line)
        if parts_ is None or not parts_.right or _literal_test(parts_.left, parts_.right) is None:
            continue
        tests.append(f"assert {parts_.left} == {parts_.right}")
    if not tests:
        return None, "the [Tests] hold no `assert f(...) == ...` line"
    return Synthesized(problem, ast.unparse(tree) + "\n", tests[:MAX_TESTS]), "ok"


def _code(section: str) -> str:
    match = _FENCE.search(section)
    return (match.group(1) if match else section).strip() + "\n"


def _unsafe(tree: ast.AST) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            bad = [m for m in modules if m.split(".")[0] not in PURE_MODULES]
            if bad or getattr(node, "level", 0):
                return f"`import {', '.join(bad) or '.'}`"
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            return f"`{node.id}`"
    return None


def _literal_test(call: str, expected: str) -> object | None:
    """The expected value of a test ``call == expected`` whose call of ``f`` has literal
    arguments and whose expected side is a literal (wrapped in a 1-tuple), else None."""
    try:
        literal_call(call, "f")
        return (ast.literal_eval(expected),)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _failure(result: Outcome, tests: list[str]) -> str | None:
    """Why the tests fail on ``result`` (the tuple of their calls' values), or None when all pass."""
    if result.timed_out:
        return "it ran out of time (an infinite loop?)"
    if result.exception:
        return f"{result.exception.get('type')}: {result.exception.get('message', '')}".strip()
    got = decode(result.value) if result.literal else None
    for index, test in enumerate(tests):
        parts = split_assertion(test)
        expected = _literal_test(parts.left, parts.right)[0]
        if got is None:
            return f"`{parts.left}` returned an object that is not a literal, but the test expects `{parts.right}`"
        if not same(expected, got[index]):
            value = literal_text(result.value[1][index])
            return f"`{parts.left}` returned `{value}`, but the test expects `{parts.right}`"
    return None


def synthesize_records(seeds: list[dict], backend, pool: SampleRunner, stats: dict, *,
                       temperature: float = 0.7, max_new_tokens: int = 768) -> list[dict]:
    """Problems, solutions and tests for a batch of seed snippets; those that do not run are
    retried once with the error, the rest dropped (counted by reason)."""
    prompts = [prompt_for(seed["source"]) for seed in seeds]
    answers = backend.generate(prompts, max_new_tokens=max_new_tokens, stop=[TESTS_STOP], temperature=temperature, n=1)
    verdicts = _judge(answers, pool, stats)
    retry = [k for k, (sample, error) in enumerate(verdicts) if sample is None]
    if retry:
        count(stats, "retried", len(retry))
        again = backend.generate([retry_prompt(prompts[k], answers[k], verdicts[k][1]) for k in retry],
                                 max_new_tokens=max_new_tokens, stop=[TESTS_STOP], temperature=temperature, n=1)
        for k, verdict in zip(retry, _judge(again, pool, stats)):
            verdicts[k] = verdict
            if verdict[0] is not None:
                count(stats, "fixed_by_retry")
    records = []
    for seed, (sample, error) in zip(seeds, verdicts):
        if sample is None:
            count(stats, "rejected_after_retry")
            continue
        count(stats, "samples")
        key = hashlib.sha1(sample.code.encode()).hexdigest()[:16]
        records.append({"id": f"syn-{key}", "code": sample.code, "problem": sample.problem, "docstring": "",
                        "origin": seed.get("origin"), "name": "f", "source_kind": "synthesized",
                        "seed_id": seed["id"], "tests": [{"call": split_assertion(t).left} for t in sample.tests],
                        "assertions": sample.tests})
    return records


def _judge(answers: list[str], pool: SampleRunner, stats: dict) -> list[tuple[Synthesized | None, str]]:
    """Parse each answer, run its solution on its tests' calls in the sandbox and compare here."""
    verdicts: list[tuple[Synthesized | None, str]] = []
    for answer in answers:
        sample, why = parse_answer(answer)
        if sample is None:
            count(stats, "unparsable")
        verdicts.append((sample, why))
    runnable = [k for k, (sample, _) in enumerate(verdicts) if sample is not None]
    calls = ["(" + ", ".join(split_assertion(t).left for t in verdicts[k][0].tests) + ",)" for k in runnable]
    jobs = [SampleJob(verdicts[k][0].code, call=call, timeout_s=3.0) for k, call in zip(runnable, calls)]
    for k, result in zip(runnable, pool.imap(jobs)):
        why = _failure(result, verdicts[k][0].tests)
        if why is not None:
            count(stats, "failed_tests")
            verdicts[k] = (None, why)
    return verdicts


def run_synthesize(out: Path, pool: SampleRunner, backend, *, limit: int | None = None,
                   max_new_tokens: int = 768, progress: bool = True) -> dict:
    snippets = [s for s in read_stage(require_stage(out, "seeds")) if s["kind"] == "snippet"]
    if limit is not None:
        snippets = snippets[:limit]
    return StageRun(out, "synthesize", progress).run(
        chunked(snippets, SEEDS_PER_SHARD),
        lambda chunk, stats: synthesize_records(chunk, backend, pool, stats, max_new_tokens=max_new_tokens),
        unit="seeds")
