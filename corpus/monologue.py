"""The monologue stage: forward and backward execution monologues for every executed call.

Without a model, monologues are rendered from the recorded trace (the code's structure, each
executed line with the values it changed, loop iterations, the return) in SemCoder's section
layout, and marked ``"monologue": "trace"`` in the row metadata. The project's narrator
(``duck.narrate``) was not available when this stage was written, so the rendering lives here.
With a model, monologues are sampled with a few-shot prompt and kept only when they pass
rejection sampling: a forward answer must pass as an assertion when executed in the sandbox, a
backward answer's input must reproduce the output, and ``duck.grounding`` must find no
contradicted value claim. This module does not run the traced calls (execute does).
"""

from __future__ import annotations

import ast
from pathlib import Path

from corpus.sandbox import SandboxJob, SandboxPool
from corpus.shards import StageRun, count, read_jsonl, require_stage, stage_shards
from models.prompts import LINE_LABEL_OFFSET

MAX_SIMULATION_LINES = 120


def _label(line: int) -> str:
    return f"[L{line + LINE_LABEL_OFFSET}]"


def _fmt(changes: dict) -> str:
    return ", ".join(f"`{name}` = `{value}`" for name, value in changes.items())


def understanding(code: str) -> tuple[str, list[str]]:
    """A description of ``f`` and a list of its key properties, read from its AST."""
    func = ast.parse(code).body[0]
    params = [a.arg for a in func.args.posonlyargs + func.args.args]
    what = []
    for node in func.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = ", ".join(f"`{ast.unparse(t)}`" for t in targets)
            what.append(f"sets {names}")
        elif isinstance(node, ast.For):
            what.append(f"loops over `{ast.unparse(node.iter)}` with `{ast.unparse(node.target)}`")
        elif isinstance(node, ast.While):
            what.append(f"repeats while `{ast.unparse(node.test)}`")
        elif isinstance(node, ast.If):
            what.append(f"checks `{ast.unparse(node.test)}`")
        elif isinstance(node, ast.Return) and node.value is not None:
            what.append(f"returns `{ast.unparse(node.value)}`")
        elif isinstance(node, ast.Try):
            what.append("handles exceptions in a `try` block")
    plural = "parameter" if len(params) == 1 else "parameters"
    text = f"The function `f` takes the {plural} {', '.join(f'`{p}`' for p in params)}."
    if what:
        text += " It " + ", then ".join(what) + "."
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
    return text, properties


def simulation(code: str, events: list[dict]) -> list[str]:
    """One bullet per executed line of the outermost call, with values changed and loop iterations."""
    lines = code.splitlines()
    tree = ast.parse(code)
    loop_headers = {n.lineno for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))}
    bullets: list[str] = []
    last_line: dict[int, int] = {}
    iterations: dict[tuple[int, int], int] = {}
    for event in events:
        frame, depth, kind, line = event.get("frame", 0), event.get("depth", 0), event["event"], event["line"]
        indent = "  " * depth
        changes = event.get("changes") or {}
        if kind == "call":
            who = "The function is called" if depth == 0 else "A recursive call `f` starts"
            bullets.append(f"{indent}- {who} with {_fmt(changes)}." if changes else f"{indent}- {who}.")
            continue
        previous = last_line.get(frame)
        if changes and previous is not None:
            source = lines[previous - 1].strip() if 0 < previous <= len(lines) else ""
            if previous in loop_headers:
                key = (frame, previous)
                iterations[key] = iterations.get(key, 0) + 1
                bullets.append(f"{indent}- {_label(previous)} `{source}`: iteration {iterations[key]}, {_fmt(changes)}.")
            else:
                bullets.append(f"{indent}- {_label(previous)} `{source}` gives {_fmt(changes)}.")
        elif previous is not None and previous in loop_headers and kind == "line" and line not in _body_lines(tree, previous):
            bullets.append(f"{indent}- {_label(previous)} the loop ends.")
        if kind == "line":
            last_line[frame] = line
        elif kind == "return":
            if depth == 0:
                bullets.append(f"- {_label(line)} The function returns `{event.get('value')}`.")
            else:
                bullets.append(f"{indent}- {_label(line)} the recursive call returns `{event.get('value')}`.")
        elif kind == "exception" and depth == 0:
            bullets.append(f"- {_label(line)} raises `{event.get('exc_type')}`.")
        if event.get("stdout"):
            bullets.append(f"{indent}- It prints {event['stdout']!r}.")
    return bullets


def _body_lines(tree: ast.AST, header: int) -> set[int]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.While)) and node.lineno == header:
            return {n.lineno for stmt in node.body for n in ast.walk(stmt) if hasattr(n, "lineno")}
    return set()


def forward_response(code: str, call: str, output: str, events: list[dict]) -> str | None:
    """A forward monologue + answer rendered from the trace, or None when it would be too long."""
    text, properties = understanding(code)
    steps = simulation(code, events)
    if len(steps) > MAX_SIMULATION_LINES:
        return None
    body = "\n".join([
        "### Understanding the Function", text, "",
        "### Key Properties and Constraints", *[f"- {p}" for p in properties], "",
        "### Execution Simulation:", f"Let's simulate `{call}` step by step.", *steps, "",
        "### Conclusion", f"The function returns `{output}` for `{call}`.",
    ])
    return f"[MONOLOGUE]\n{body}\n[/MONOLOGUE]\n[ANSWER]\nassert {call} == {output}\n[/ANSWER]"


def backward_response(code: str, call: str, output: str, events: list[dict]) -> str | None:
    """A backward (input deduction) monologue rendered from the trace, walking it in reverse."""
    text, properties = understanding(code)
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
        "### Understanding the Function", text, "",
        "### Key Properties and Constraints", *[f"- {p}" for p in properties], "",
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
                        "response": response, "monologue": "trace"})
    return out


def model_monologues(records: list[dict], backend, pool: SandboxPool, stats: dict, *,
                     samples: int = 2, temperature: float = 0.8, max_new_tokens: int = 1024) -> list[list[dict]]:
    """Rejection-sampled monologues from a model: per record, the kept ones."""
    from duck.grounding import check_text, observations_from_events
    from models.parse import backward_answer, forward_answer
    from models.prompts import ANSWER_STOP, ExecutionQuestion, backward_prompt, forward_prompt

    prompts, owners = [], []
    for index, record in enumerate(records):
        for run in record["runs"]:
            question = ExecutionQuestion(record["code"], call=run["call"], output=run["output"])
            example = _few_shot(record)
            for direction, build in (("forward", forward_prompt), ("backward", backward_prompt)):
                prompts.append(example + build(question))
                owners.append((index, run, direction))
    completions = backend.generate(prompts, max_new_tokens=max_new_tokens, stop=[ANSWER_STOP],
                                   temperature=temperature, n=samples) if prompts else []
    kept: list[list[dict]] = [[] for _ in records]
    checks, candidates = [], []
    for position, (index, run, direction) in enumerate(owners):
        for completion in completions[position * samples:(position + 1) * samples]:
            text = completion if completion.rstrip().endswith(ANSWER_STOP) else completion + ANSWER_STOP
            count(stats, f"{direction}_sampled")
            if direction == "forward":
                answer = forward_answer(text)
                check = f"assert {run['call']} == {answer}" if answer else None
            else:
                answer = backward_answer(text)
                check = f"assert {answer} == {run['output']}" if answer else None
            if check is None:
                count(stats, f"rejected_{direction}_no_answer")
                continue
            observed, returns = observations_from_events(run["events"])
            report = check_text(text, observed, returns, run["output"] if direction == "forward" else None)
            if not report.ok:
                count(stats, f"rejected_{direction}_grounding")
                continue
            checks.append(SandboxJob(records[index]["code"], check=check, timeout_s=3.0))
            candidates.append((index, run, direction, text))
    for (index, run, direction, text), result in zip(candidates, pool.imap(checks)):
        if not result.passed:
            count(stats, f"rejected_{direction}_wrong_answer")
            continue
        if any(k["direction"] == direction and k["call"] == run["call"] for k in kept[index]):
            continue  # one kept monologue per question
        count(stats, direction)
        monologue = text[text.find("[MONOLOGUE]"):] if "[MONOLOGUE]" in text else "[MONOLOGUE]\n" + text
        kept[index].append({"direction": direction, "call": run["call"], "output": run["output"],
                            "response": monologue.strip(), "monologue": "model"})
    return kept


def _few_shot(record: dict) -> str:
    """One worked example in the target format, on a fixed small function (never the sample
    itself, whose answer it would leak)."""
    code = "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"
    events = [
        {"event": "call", "line": 1, "frame": 0, "depth": 0, "changes": {"xs": "[1, 2]"}},
        {"event": "line", "line": 2, "frame": 0, "depth": 0},
        {"event": "line", "line": 3, "frame": 0, "depth": 0, "changes": {"total": "0"}},
        {"event": "line", "line": 4, "frame": 0, "depth": 0, "changes": {"x": "1"}},
        {"event": "line", "line": 3, "frame": 0, "depth": 0, "changes": {"total": "1"}},
        {"event": "line", "line": 4, "frame": 0, "depth": 0, "changes": {"x": "2"}},
        {"event": "line", "line": 3, "frame": 0, "depth": 0, "changes": {"total": "3"}},
        {"event": "line", "line": 5, "frame": 0, "depth": 0},
        {"event": "return", "line": 5, "frame": 0, "depth": 0, "value": "3"},
    ]
    from models.prompts import ExecutionQuestion, forward_prompt

    return forward_prompt(ExecutionQuestion(code, call="f([1, 2])")) + forward_response(code, "f([1, 2])", "3", events)[len("[MONOLOGUE]\n"):] + "\n\n"


def run_monologue(out: Path, pool: SandboxPool, *, backend=None, progress: bool = True) -> dict:
    folder = require_stage(out, "execute")
    chunks = [list(read_jsonl(p)) for p in stage_shards(folder)]

    def work(chunk: list[dict], stats: dict) -> list[dict]:
        if backend is not None:
            per_record = model_monologues(chunk, backend, pool, stats)
        else:
            per_record = [trace_monologues(record, stats) for record in chunk]
        return [{**record, "monologues": monologues} for record, monologues in zip(chunk, per_record) if monologues]

    return StageRun(out, "monologue", progress).run(chunks, work, unit="samples",
                                                     source="model" if backend is not None else "trace")
