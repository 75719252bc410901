"""The monologue stage: forward and backward execution monologues for every executed call.

Without a model, monologues are rendered from the recorded trace by templates and marked
``"written_by": "template"`` in the row metadata (the offline path: fast and useful, but not
the paper's data: its forward rows end with an extra ``### Conclusion`` and its backward
"reverse deduction" walks the recorded run back instead of reasoning about constraints). "### Understanding the Function" and
"### Execution Simulation:" come from duck's own narrator
(``duck.narration.understanding_the_function`` / ``execution_simulation``), so a model trained on
these rows reads execution told exactly the way ``duck run`` tells it; this module adds only
what the corpus alone needs: "### Key Properties and Constraints", the backward
"### Reverse Deduction" and the conclusions.

With a model (the paper's path, ``"written_by": "model"``), monologues are sampled with a
few-shot prompt whose worked examples are in the paper's style (``corpus.fewshot``: natural
reasoning, abstract constraints for backward) and kept only when they pass rejection sampling: a forward answer must be a literal equal to the recorded value (compared
here; nothing runs), a backward answer must call ``f`` with literal arguments that, run confined
(``corpus.jobs``), return the recorded value, and ``models.claims`` must find no contradicted
claim about the recorded intermediate values. A kept monologue's ``[ANSWER]`` is rewritten to
the exact assertion that was checked. This module does not run the traced calls
(execute does).
"""

from __future__ import annotations

import ast
from pathlib import Path

from corpus.jobs import SampleJob, SampleRunner
from corpus.shards import StageRun, count, read_jsonl, require_stage, stage_shards
from duck.narration import execution_simulation, understanding_the_function
from duck.sandbox.values import decode, literal_call, same
from models.prompts import LINE_LABEL_OFFSET

MAX_SIMULATION_LINES = 120
#: how ``duck.narration.execution_simulation`` says it stopped telling a long run
_CUT_SHORT = "- ... (the remaining steps are not told"


def _label(line: int) -> str:
    return f"[L{line + LINE_LABEL_OFFSET}]"


def _fmt(changes: dict) -> str:
    return ", ".join(f"`{name}` = `{value}`" for name, value in changes.items())


def _function(code: str, name: str = "f") -> ast.FunctionDef | None:
    tree = ast.parse(code)
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def key_properties(code: str) -> list[str]:
    """The "Key Properties and Constraints" of ``f``, read from its AST."""
    func = _function(code)
    if func is None:
        return []
    properties = []
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return) and n.value is not None]
    if len(returns) > 1:
        properties.append(f"There are {len(returns)} `return` statements; which one runs depends on the branches taken.")
    loops = [n for n in ast.walk(func) if isinstance(n, (ast.For, ast.While))]
    if loops:
        properties.append("The result depends on every iteration of the loop" + ("s." if len(loops) > 1 else "."))
    if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "f" for n in ast.walk(func)):
        properties.append("`f` is recursive: each call works on a smaller input until a base case returns.")
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and node.attr in ("append", "extend", "insert", "pop", "sort", "update"):
            properties.append(f"`{ast.unparse(node.value)}` is modified in place with `.{node.attr}()`.")
            break
    if not properties:
        properties.append("The function has no loops or recursion: each line runs at most once.")
    return properties


def simulation_section(code: str, call: str, events: list[dict], *, value: str | None = None,
                       exception: tuple[str, str] | None = None, max_lines: int = MAX_SIMULATION_LINES) -> str | None:
    """duck's "### Execution Simulation:" of one traced call, or None when it had to be cut short."""
    text = execution_simulation(events, code, call=call, value=value, exception=exception,
                                max_lines=max_lines, label_offset=LINE_LABEL_OFFSET)
    return None if _CUT_SHORT in text else text


def _understanding(code: str) -> str:
    text = understanding_the_function(code, "f")
    return text if text.startswith("###") else "### Understanding the Function\n" + text


def forward_response(code: str, call: str, output: str, events: list[dict]) -> str | None:
    """A forward monologue + answer rendered from the trace, or None when it would be too long."""
    simulation = simulation_section(code, call, events, value=output)
    if simulation is None:
        return None
    body = "\n".join([
        _understanding(code), "",
        "### Key Properties and Constraints", *[f"- {p}" for p in key_properties(code)], "",
        simulation, "",
        "### Conclusion", f"The function returns `{output}` for `{call}`.",
    ])
    return f"[MONOLOGUE]\n{body}\n[/MONOLOGUE]\n[ANSWER]\nassert {call} == {output}\n[/ANSWER]"


def backward_response(code: str, call: str, output: str, events: list[dict]) -> str | None:
    """A backward (input deduction) monologue rendered from the trace, walking it in reverse."""
    lines = code.splitlines()
    outer = [e for e in events if e.get("depth", 0) == 0]
    ret = next((e for e in reversed(outer) if e["event"] == "return"), None)
    if ret is None:
        return None
    deduction = [f"- The output is `{output}`: it is what {_label(ret['line'])} "
                 f"`{lines[ret['line'] - 1].strip()}` returns."]
    # changes on an event are what the frame's previous line did: pair each with that line
    previous_line: dict[int, int] = {}
    effects = []
    for event in outer:
        if event["event"] == "line":
            if event.get("changes") and event.get("frame", 0) in previous_line:
                effects.append((previous_line[event.get("frame", 0)], event["changes"]))
            previous_line[event.get("frame", 0)] = event["line"]
    for line, changes in reversed(effects[-12:]):
        deduction.append(f"- Before that, {_label(line)} `{lines[line - 1].strip()}` must have produced {_fmt(changes)}.")
    call_event = outer[0] if outer and outer[0]["event"] == "call" else None
    if call_event and call_event.get("changes"):
        deduction.append(f"- Working back to the start, the function must be called with {_fmt(call_event['changes'])}.")
    if len(deduction) > MAX_SIMULATION_LINES:
        return None
    args = call[call.index("(") + 1:call.rindex(")")]
    body = "\n".join([
        _understanding(code), "",
        "### Key Properties and Constraints", *[f"- {p}" for p in key_properties(code)], "",
        "### Reverse Deduction", *deduction, "",
        "### Conclusion", f"Calling `f` with `{args}` produces `{output}`.",
    ])
    return f"[MONOLOGUE]\n{body}\n[/MONOLOGUE]\n[ANSWER]\nassert {call} == {output}\n[/ANSWER]"


def trace_monologues(record: dict, stats: dict) -> list[dict]:
    """Forward and backward monologues of every run of one executed sample (no model)."""
    out = []
    for run in record["runs"]:
        for direction, render in (("forward", forward_response), ("backward", backward_response)):
            response = render(record["code"], run["call"], run["output"], run["events"])
            if response is None:
                count(stats, f"rejected_{direction}_too_long")
                continue
            count(stats, direction)
            out.append({"direction": direction, "call": run["call"], "output": run["output"],
                        "response": response, "written_by": "template"})
    return out


def model_monologues(records: list[dict], backend, pool: SampleRunner, stats: dict, *,
                     samples: int = 2, temperature: float = 0.8, max_new_tokens: int = 1024) -> list[list[dict]]:
    """Rejection-sampled monologues from a model: per record, the kept ones (at most one per
    question and direction). Every rejection is counted in ``stats`` by its reason."""
    from corpus.fewshot import few_shot
    from models.prompts import ANSWER_STOP, ExecutionQuestion, backward_prompt, forward_prompt

    prompts, owners = [], []
    for index, record in enumerate(records):
        for run in record["runs"]:
            question = ExecutionQuestion(record["code"], call=run["call"], output=run["output"])
            for direction, build in (("forward", forward_prompt), ("backward", backward_prompt)):
                prompts.append(few_shot(direction) + build(question))
                owners.append((index, run, direction))
    completions = backend.generate(prompts, max_new_tokens=max_new_tokens, stop=[ANSWER_STOP],
                                   temperature=temperature, n=samples) if prompts else []
    if len(completions) != len(prompts) * samples:
        from models.base import BackendError

        raise BackendError(f"the model answered {len(completions)} completions for {len(prompts)} prompts x {samples}",
                           "use a backend whose generate() returns n completions per prompt")
    candidates = []
    for position, (index, run, direction) in enumerate(owners):
        for completion in completions[position * samples:(position + 1) * samples]:
            count(stats, f"{direction}_sampled")
            judged = _answer_check(completion, direction, run)
            if judged is None:
                count(stats, f"rejected_{direction}_no_answer")
                continue
            candidates.append((index, run, direction, completion, *judged))
    # forward answers are literals compared with the recorded value; backward calls run confined
    backward = [k for k, c in enumerate(candidates) if c[2] == "backward"]
    outcomes = dict(zip(backward, pool.imap([SampleJob(records[candidates[k][0]]["code"], call=candidates[k][5],
                                                       timeout_s=3.0) for k in backward])))
    passed = []
    for k, candidate in enumerate(candidates):
        run, direction, answer = candidate[1], candidate[2], candidate[6]
        ok = outcomes[k].same_value(run["value"]) if direction == "backward" \
            else same(decode(run["value"]), answer)
        if ok:
            passed.append(candidate[:6])
        else:
            count(stats, f"rejected_{direction}_wrong_answer")
    # a backward answer with another input than the recorded run is grounded on its own trace
    retrace = [k for k, c in enumerate(passed) if c[2] == "backward" and not _same_call(c[5], c[1]["call"])]
    traces = dict(zip(retrace, (r.events or [] for r in pool.imap(
        [SampleJob(records[passed[k][0]]["code"], call=passed[k][5], trace=True, timeout_s=3.0) for k in retrace]))))
    kept: list[list[dict]] = [[] for _ in records]
    for k, (index, run, direction, completion, check, call) in enumerate(passed):
        events = traces.get(k, run["events"])
        if not grounded(completion, events, run["output"]):
            count(stats, f"rejected_{direction}_grounding")
            continue
        if any(k["direction"] == direction and k["call"] == run["call"] for k in kept[index]):
            count(stats, f"{direction}_extra_samples")
            continue
        count(stats, direction)
        kept[index].append({"direction": direction, "call": run["call"], "output": run["output"],
                            "response": _with_answer(completion, check), "written_by": "model"})
    return kept


def _answer_check(completion: str, direction: str, run: dict) -> tuple[str, str, object] | None:
    """(the assertion it makes, the call, the forward answer's value) for a sampled answer, or
    None without an admissible one: a forward answer must be a literal, a backward one a call of
    ``f`` with literal arguments (read here with ``ast.literal_eval``; nothing runs)."""
    from models.parse import backward_answer, forward_answer

    if direction == "forward":
        answer = forward_answer(completion)
        try:
            value = ast.literal_eval(answer.strip()) if answer else None
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        if not answer:
            return None
        return f"assert {run['call']} == {run['output']}", run["call"], value
    call = backward_answer(completion)
    try:
        literal_call(call or "", "f")
    except ValueError:
        return None
    return f"assert {call} == {run['output']}", call, None


def _same_call(a: str, b: str) -> bool:
    return ast.dump(ast.parse(a, mode="eval")) == ast.dump(ast.parse(b, mode="eval"))


def grounded(text: str, events: list[dict], output: str) -> bool:
    """No claim of ``text`` about intermediate values, returns or the answer contradicts ``events``."""
    from models.claims import check_text, observations_from_events

    observed, returns = observations_from_events(events)
    return check_text(text, observed, returns, output).ok


def _with_answer(completion: str, check: str) -> str:
    """The sampled monologue closed by exactly the assertion that was executed."""
    text = completion
    for mark in ("[/MONOLOGUE]", "[ANSWER]"):
        if mark in text:
            text = text[:text.index(mark)]
    text = text.strip()
    if text.startswith("[MONOLOGUE]"):
        text = text[len("[MONOLOGUE]"):].strip()
    return f"[MONOLOGUE]\n{text}\n[/MONOLOGUE]\n[ANSWER]\n{check}\n[/ANSWER]"


def run_monologue(out: Path, pool: SampleRunner, *, backend=None, samples: int = 2, max_new_tokens: int = 1024,
                  progress: bool = True) -> dict:
    folder = require_stage(out, "execute")
    chunks = [list(read_jsonl(p)) for p in stage_shards(folder)]

    def work(chunk: list[dict], stats: dict) -> list[dict]:
        if backend is not None:
            per_record = model_monologues(chunk, backend, pool, stats, samples=samples,
                                          max_new_tokens=max_new_tokens)
        else:
            per_record = [trace_monologues(record, stats) for record in chunk]
        # a sample with no kept monologue still gives its NL->code row when it has a description
        return [{**record, "monologues": monologues} for record, monologues in zip(chunk, per_record)
                if monologues or record.get("problem") or record.get("docstring")]

    return StageRun(out, "monologue", progress).run(chunks, work, unit="samples",
                                                     source="model" if backend is not None else "template")
