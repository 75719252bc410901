"""The synthesize stage: OSS-Instruct style problems, solutions and tests written by a model.

The paper's path to PyX: OSS-Instruct with two edits, as duck reads the paper. (1) The seeds
are parsable snippets of real Python code (the seeds stage cuts them), and (2) the model must
write *executable* data, not only a problem and a solution: a self-contained function ``f``
(standard library only, no I/O) with test calls on literal inputs, so that every sample can be
run, traced and checked. Each seed snippet is shown to a model with such an OSS-Instruct prompt;
the answer is parsed, and the solution and its tests run in the sandbox; a sample that does not
parse, run or pass its own tests is sent back with the error (the retry prompt quotes it), up
to ``retries`` times, and kept as soon as an answer runs (execution filtering with bounded
retries). Kept samples then get more inputs (input expansion): type-aware mutations of their
tests' literal arguments (``corpus.extract``'s mutator), kept when they run to a literal value.
The model may be another one than the monologue stage's (``--synthesis-model``). Tests must call ``f`` with literal
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
#: answers sent back with their error before a seed is given up (execution filtering)
RETRIES = 3
#: inputs input expansion may add to a synthesized sample, and the mutations it tries for them
EXPANDED_INPUTS, EXPANSION_TRIES = 3, 12

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
    unsafe = outside_guidelines(tree)
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


def outside_guidelines(tree: ast.AST) -> str | None:
    """What in ``tree`` the synthesis guidelines exclude (an import beyond the pure modules, a
    forbidden name such as ``open``), or None."""
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
                       temperature: float = 0.7, max_new_tokens: int = 768, retries: int = RETRIES,
                       expand: int = EXPANDED_INPUTS) -> list[dict]:
    """Problems, solutions and tests for a batch of seed snippets; an answer that does not run
    is sent back with its error up to ``retries`` times, the seeds still failing then are
    dropped (counted by reason); kept samples get up to ``expand`` mutated inputs more."""
    prompts = [prompt_for(seed["source"]) for seed in seeds]
    answers = backend.generate(prompts, max_new_tokens=max_new_tokens, stop=[TESTS_STOP], temperature=temperature, n=1)
    verdicts = _judge(answers, pool, stats)
    for attempt in range(retries):
        retry = [k for k, (sample, error) in enumerate(verdicts) if sample is None]
        if not retry:
            break
        count(stats, "retried", len(retry))
        again = backend.generate([retry_prompt(prompts[k], answers[k], verdicts[k][1]) for k in retry],
                                 max_new_tokens=max_new_tokens, stop=[TESTS_STOP], temperature=temperature, n=1)
        for k, answer, verdict in zip(retry, again, _judge(again, pool, stats)):
            verdicts[k] = verdict
            answers[k] = answer  # the next retry quotes the latest answer and its error
            if verdict[0] is not None:
                count(stats, "fixed_by_retry")
                count(stats, f"fixed_by_retry_{attempt + 1}")
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
    if expand:
        expand_inputs(records, pool, stats, limit=expand)
    return records


def expand_inputs(records: list[dict], pool: SampleRunner, stats: dict, *, limit: int = EXPANDED_INPUTS,
                  tries: int = EXPANSION_TRIES) -> None:
    """Input expansion for synthesized samples: type-aware mutations of the literal arguments of
    each record's tests (``corpus.extract``'s mutator: near-boundary numbers, edited strings and
    lists), run confined; up to ``limit`` new calls that run to a literal value are added to the
    record's tests (``"origin": "mutated"``). Expected outputs are never guessed here: the
    execute stage records what each call returns."""
    import random

    from corpus.extract import call_text, mutate_value, usable_outcome

    candidates: list[tuple[int, str]] = []
    for index, record in enumerate(records):
        rng = random.Random(record["id"])
        known = {test["call"] for test in record["tests"]}
        arguments = []
        for test in record["tests"]:
            try:
                _, args, kwargs = literal_call(test["call"], "f")
            except ValueError:
                continue
            if not kwargs:
                arguments.append(list(args))
        for _ in range(tries if arguments else 0):
            args = list(rng.choice(arguments))
            position = rng.randrange(len(args)) if args else None
            if position is not None:
                args[position] = mutate_value(args[position], rng)
            call = call_text(args)
            if call not in known:
                known.add(call)
                candidates.append((index, call))
    outcomes = pool.map([SampleJob(records[index]["code"], call=call, timeout_s=3.0) for index, call in candidates])
    added: dict[int, int] = {}
    for (index, call), outcome in zip(candidates, outcomes):
        count(stats, "expansion_tried")
        if not usable_outcome(outcome, call) or added.get(index, 0) >= limit:
            continue
        added[index] = added.get(index, 0) + 1
        records[index]["tests"].append({"call": call, "origin": "mutated"})
        count(stats, "expanded_inputs")


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
                   max_new_tokens: int = 768, retries: int = RETRIES, progress: bool = True) -> dict:
    snippets = [s for s in read_stage(require_stage(out, "seeds")) if s["kind"] == "snippet"]
    if limit is not None:
        snippets = snippets[:limit]
    return StageRun(out, "synthesize", progress).run(
        chunked(snippets, SEEDS_PER_SHARD),
        lambda chunk, stats: synthesize_records(chunk, backend, pool, stats, max_new_tokens=max_new_tokens,
                                                retries=retries),
        unit="seeds")
