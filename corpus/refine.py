"""The refine stage (PyX-R): buggy code, the first failed test, a rationale and the fix.

With a model (the paper's path, rows marked ``"written_by": "model"``), the bugs and the
rationales are the model's: it writes solutions to each sample's problem (the NL->code
prompt), and a solution that runs but fails one of the sample's recorded tests is a natural
bug; the model then gets the refine prompt (a worked example in the paper's style first,
``corpus.fewshot``) and writes the simulation of the failing run, the root cause and a refined
solution. A rationale is kept only when its refined code passes every recorded test (run
confined, values compared here) and no claim it makes about the buggy run's values
contradicts that run's trace (``models.claims``).

Without a model (duck's offline path, ``"written_by": "template"``), buggy variants come from small AST mutations of a correct, executed function (a flipped
comparison or membership test, ``+``/``-`` and other operators swapped (also in ``+=``), an
off-by-one constant or slice bound, ``and``/``or`` swapped, a dropped ``not``, ``min``/``max``
and ``any``/``all`` swapped, a negated boolean). A variant is used when it still runs but fails one of the sample's tests; the
rationale is the buggy run told by duck's narrator (``duck.narration.refine_simulation``,
the same rendering as forward monologues and ``duck run``) and where it diverges from the correct
run (first differing step); the fix (the correct code) is kept only when it passes every
test and agrees with the original on them (differential testing); such rationales are
templates, and the fix is always the original code.

Tests are judged here, not in the sandbox: each call runs confined (``corpus.jobs``) and
returns its value as data, which is compared with the value the execute stage recorded.
"""

from __future__ import annotations

import ast
import random
import re
import zlib
from pathlib import Path

from corpus.jobs import SampleJob, SampleRunner
from corpus.shards import StageRun, count, read_jsonl, require_stage, stage_shards
from duck.narration import refine_simulation
from models.prompts import failed_test_text, refine_instruction

_COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
                 ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv,
               ast.Div: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.LShift: ast.RShift,
               ast.RShift: ast.LShift}
_CALL_SWAP = {"min": "max", "max": "min", "any": "all", "all": "any", "sorted": "reversed"}


def mutation_sites(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """Every place one edit changes behaviour, with the kind of edit."""
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_SWAP:
            sites.append((node, "compare"))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
            sites.append((node, "binop"))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAP:
            sites.append((node, "augassign"))
        elif isinstance(node, ast.BoolOp):
            sites.append((node, "boolop"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            sites.append((node, "negation"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALL_SWAP:
            sites.append((node, "call"))
        elif isinstance(node, ast.Slice) and (node.lower is not None or node.upper is not None):
            sites.append((node, "slice"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append((node, "constant"))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            sites.append((node, "bool"))
    return sites


def _mutate(node: ast.AST, kind: str) -> ast.AST | None:
    """Apply one edit of ``kind`` to ``node`` in place; returns a replacement node where the edit
    replaces the node itself (a removed ``not``)."""
    if kind == "compare":
        node.ops[0] = _COMPARE_SWAP[type(node.ops[0])]()
    elif kind in ("binop", "augassign"):
        node.op = _BINOP_SWAP[type(node.op)]()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "negation":
        return node.operand
    elif kind == "call":
        node.func.id = _CALL_SWAP[node.func.id]
    elif kind == "slice":
        bound = node.upper if node.upper is not None else node.lower
        shifted = ast.BinOp(left=bound, op=ast.Add(), right=ast.Constant(1))
        if node.upper is not None:
            node.upper = shifted
        else:
            node.lower = shifted
    elif kind == "constant":
        node.value = node.value + 1
    else:
        node.value = not node.value
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, old: ast.AST, new: ast.AST) -> None:
        self.old, self.new = old, new

    def visit(self, node: ast.AST) -> ast.AST:
        return self.new if node is self.old else self.generic_visit(node)


def mutants(code: str, *, limit: int = 10, seed: int = 0, executed: set[int] | None = None) -> list[tuple[str, str]]:
    """Up to ``limit`` (buggy code, mutation kind) pairs, each one edit away from ``code``.

    With ``executed`` (line numbers the tests ran), only those lines are mutated: an edit on a
    line no test reaches can never make a test fail."""
    base = ast.unparse(ast.parse(code)) + "\n"
    sites = mutation_sites(ast.parse(code))
    order = [i for i, (node, _) in enumerate(sites) if executed is None or getattr(node, "lineno", None) in executed]
    random.Random(seed).shuffle(order)
    out = []
    for index in order:
        tree = ast.parse(code)
        node, kind = mutation_sites(tree)[index]
        replacement = _mutate(node, kind)
        if replacement is not None:
            tree = _Replace(node, replacement).visit(tree)
        buggy = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
        if buggy != base:
            out.append((buggy, kind))
        if len(out) >= limit:
            break
    return out


def _first_difference(buggy: list[dict], correct: list[dict]) -> int | None:
    for index, (a, b) in enumerate(zip(buggy, correct)):
        if (a["event"], a["line"], a.get("changes"), a.get("value")) != (b["event"], b["line"], b.get("changes"), b.get("value")):
            return index
    return None if len(buggy) == len(correct) else min(len(buggy), len(correct))


def rationale(buggy: str, correct: str, run: dict, buggy_events: list[dict], buggy_outcome: str) -> str:
    """The refine response: simulation of the buggy run, root cause at the divergence, fix."""
    buggy_lines, correct_lines = buggy.splitlines(), correct.splitlines()
    simulation = refine_simulation(buggy_events, buggy, run["call"])
    changed = [i + 1 for i, (a, b) in enumerate(zip(buggy_lines, correct_lines)) if a != b]
    line = changed[0] if changed else 1
    at = _first_difference(buggy_events, run["events"])
    cause = f"The buggy line is line {line}: `{buggy_lines[line - 1].strip()}`."
    if at is not None and at < len(buggy_events) and at < len(run["events"]):
        mine, theirs = buggy_events[at], run["events"][at]
        if mine.get("changes") != theirs.get("changes") and (mine.get("changes") or theirs.get("changes")):
            got = ", ".join(f"`{k}` = `{v}`" for k, v in (mine.get("changes") or {}).items()) or "no change"
            want = ", ".join(f"`{k}` = `{v}`" for k, v in (theirs.get("changes") or {}).items()) or "no change"
            cause += f" The run first goes wrong at step {at}: it gives {got} where a correct solution gives {want}."
        elif mine["line"] != theirs["line"]:
            cause += (f" The run first goes wrong at step {at}: it goes to line {mine['line']} where a correct "
                      f"solution goes to line {theirs['line']}, so the branch is decided wrongly.")
        elif mine.get("value") != theirs.get("value"):
            cause += f" It returns `{mine.get('value')}` where a correct solution returns `{theirs.get('value')}`."
    body = "\n".join([
        f"The failed test is `assert {run['call']} == {run['output']}`.",
        simulation, f"The buggy code {buggy_outcome}, but the test expects `{run['output']}`.", "",
        "### Root Cause Analysis", cause, "",
        "### Bug Fixing",
        f"Line {line} should read `{correct_lines[line - 1].strip()}`" + (" (and the other changed lines likewise)." if len(changed) > 1 else "."),
    ])
    return f"[MONOLOGUE]\n{body}\n[/MONOLOGUE]\n\n[Refined]\n```python\n{correct.rstrip()}\n```\n[/Refined]"


def problem_text(record: dict) -> str:
    if record.get("problem"):
        return record["problem"]
    if record.get("docstring"):
        return f"Implement `f` as described:\n{record['docstring'].strip()}"
    examples = "\n".join(f"- `{r['call']}` returns `{r['output']}`" for r in record["runs"])
    header = next(n for n in ast.parse(record["code"]).body if isinstance(n, ast.FunctionDef) and n.name == "f")
    signature = f"f({', '.join(a.arg for a in header.args.posonlyargs + header.args.args)})"
    return f"Write a function `{signature}` that behaves as in these examples:\n{examples}"


def _passes(pool: SampleRunner, code: str, runs: list[dict], timeout_s: float) -> list:
    """For each run: (whether ``code`` returns the recorded value on its call, the outcome)."""
    outcomes = pool.map([SampleJob(code, call=r["call"], timeout_s=timeout_s) for r in runs])
    return [(outcome.same_value(run["value"]), outcome) for run, outcome in zip(runs, outcomes)]


def refine_records(records: list[dict], pool: SampleRunner, stats: dict, *, per_sample: int = 1) -> list[dict]:
    """Template-written PyX-R rows for a chunk of executed records (see the module docstring).

    Each record's mutants are tried in order until ``per_sample`` rows are made; the records
    go forward together, one mutant each per round, so every round's runs go to the sandbox
    at once (in batches, on all slots) instead of a few at a time."""
    fixes = [ast.unparse(ast.parse(record["code"])) + "\n" for record in records]
    # differential test of the fix (the original): it must pass every test and match the recorded outputs
    fix_checks = pool.map([SampleJob(fix, call=run["call"], timeout_s=3.0)
                           for fix, record in zip(fixes, records) for run in record["runs"]])
    fix_ok, at = [], 0
    for record in records:
        outcomes = fix_checks[at:at + len(record["runs"])]
        at += len(record["runs"])
        fix_ok.append(all(o.same_value(run["value"]) for o, run in zip(outcomes, record["runs"])))
    queues = []
    for record, ok in zip(records, fix_ok):
        if not ok:
            count(stats, "rejected_fix_failed")
            queues.append([])
            continue
        executed = {e["line"] for run in record["runs"] for e in run["events"] if e["event"] == "line"}
        queues.append(mutants(record["code"], seed=zlib.crc32(record["id"].encode()), executed=executed))
    made: list[list[dict]] = [[] for _ in records]
    while True:
        tried = [(k, queues[k].pop(0)) for k in range(len(records)) if queues[k] and len(made[k]) < per_sample]
        if not tried:
            break
        jobs = [SampleJob(buggy, call=run["call"], timeout_s=2.0) for k, (buggy, _) in tried for run in records[k]["runs"]]
        outcomes, at, failing = pool.map(jobs), 0, []
        for k, (buggy, kind) in tried:
            runs = records[k]["runs"]
            checks = [(o.same_value(run["value"]), o) for o, run in zip(outcomes[at:at + len(runs)], runs)]
            at += len(runs)
            count(stats, "mutants")
            failed = next((i for i, (passed, _) in enumerate(checks) if not passed), None)
            if failed is None:
                count(stats, "mutants_equivalent_on_tests")
            elif checks[failed][1].timed_out or checks[failed][1].crashed:
                count(stats, "mutants_hang")
            else:
                failing.append((k, buggy, kind, runs[failed]))
        traces = pool.map([SampleJob(buggy, call=run["call"], trace=True, timeout_s=2.0) for _, buggy, _, run in failing])
        for (k, buggy, kind, run), traced in zip(failing, traces):
            if not traced.events or (traced.ok and traced.text is None):
                count(stats, "mutants_untraceable")
                continue
            record, fix = records[k], fixes[k]
            outcome = f"returns `{traced.text}`" if traced.ok else f"raises `{traced.exception_type}`"
            failed_test = f"assert {run['call']} == {run['output']}"
            fault = refine_instruction(problem_text(record).strip(), buggy.rstrip("\n"),
                                       failed_test_text(run["call"], run["output"]))
            made[k].append({"id": f"{record['id']}-r{len(made[k])}", "fault": fault,
                            "response": rationale(buggy, fix, run, traced.events, outcome),
                            "meta": {"source": record.get("source_kind", "extracted"), "origin": record.get("origin"),
                                     "written_by": "template", "bug": f"mutation-{kind}",
                                     "rationale": "trace-divergence", "buggy": buggy, "fix": fix,
                                     "failed_test": failed_test, "code_id": record["id"]}})
            count(stats, "pyxr_rows")
    return [row for rows in made for row in rows]


# ----------------------------------------------------------------------------- the model's path
_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL)


def solution_code(text: str) -> str | None:
    """The function ``f`` a model wrote: the first fenced block (or the text itself), cut to
    the longest run of leading lines that parses and defines ``f``, within the corpus'
    guidelines (``corpus.synthesize.outside_guidelines``); None if there is none."""
    from corpus.synthesize import outside_guidelines

    match = _FENCE.search(text)
    lines = (match.group(1) if match else text).rstrip().splitlines()
    for end in range(len(lines), 0, -1):
        try:
            tree = ast.parse("\n".join(lines[:end]))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == "f" for n in tree.body) and outside_guidelines(tree) is None:
            return ast.unparse(tree) + "\n"
        return None
    return None


def _refined(completion: str) -> tuple[str, str | None]:
    """(the monologue, the refined code) of a refine answer (its stop, ``[/Refined]``, cut off)."""
    monologue, _, refined = completion.partition("[Refined]")
    monologue = monologue.replace("[MONOLOGUE]", "").replace("[/MONOLOGUE]", "").strip()
    return monologue, solution_code(refined) if refined else None


def model_refine_records(records: list[dict], backend, pool: SampleRunner, stats: dict, *, samples: int = 2,
                         temperature: float = 0.8, max_new_tokens: int = 1024, per_sample: int = 1) -> list[dict]:
    """PyX-R rows whose bugs and rationales a model wrote (see the module docstring); every
    rejection is counted in ``stats`` by its reason."""
    from corpus.fewshot import few_shot
    from corpus.monologue import grounded
    from models.prompts import REFINED_STOP, nl_prompt, refine_prompt

    problems = [problem_text(record).strip() for record in records]
    answers = backend.generate([nl_prompt(problem) for problem in problems], max_new_tokens=max_new_tokens,
                               stop=["<NL_Description>"], temperature=temperature, n=samples)
    # natural bugs: the model's own solutions that run but fail a recorded test (all checked in one map)
    candidates: list[tuple[int, str]] = []
    for index, record in enumerate(records):
        seen: set[str] = set()
        for answer in answers[index * samples:(index + 1) * samples]:
            count(stats, "solutions_sampled")
            code = solution_code(answer)
            if code is None:
                count(stats, "solutions_unparsable")
            elif code in seen:
                count(stats, "solutions_repeated")
            else:
                seen.add(code)
                candidates.append((index, code))
    outcomes = pool.map([SampleJob(code, call=run["call"], timeout_s=2.0)
                         for index, code in candidates for run in records[index]["runs"]])
    bugs: list[tuple[int, str, dict]] = []
    at = 0
    for index, code in candidates:
        runs = records[index]["runs"]
        checks = [(o.same_value(run["value"]), o) for o, run in zip(outcomes[at:at + len(runs)], runs)]
        at += len(runs)
        failed = next((i for i, (passed, _) in enumerate(checks) if not passed), None)
        if failed is None:
            count(stats, "solutions_correct")
        elif checks[failed][1].timed_out or checks[failed][1].crashed:
            count(stats, "solutions_hang")
        elif sum(1 for k, _, _ in bugs if k == index) < per_sample:
            count(stats, "bugs")
            bugs.append((index, code, runs[failed]))
    if not bugs:
        return []
    traced = pool.map([SampleJob(code, call=run["call"], trace=True, timeout_s=2.0) for _, code, run in bugs])
    prompts = [few_shot("refine") + refine_prompt(problems[index], code.rstrip("\n"),
                                                   failed_test_text(run["call"], run["output"]))
               for index, code, run in bugs]
    completions = backend.generate(prompts, max_new_tokens=max_new_tokens, stop=[REFINED_STOP],
                                   temperature=temperature, n=samples)
    rows = []
    for position, ((index, buggy, run), outcome) in enumerate(zip(bugs, traced)):
        record = records[index]
        buggy_said = outcome.text if outcome.ok else None
        for completion in completions[position * samples:(position + 1) * samples]:
            count(stats, "rationales_sampled")
            monologue, refined = _refined(completion)
            if not monologue or refined is None:
                count(stats, "rejected_rationale_no_refined_code")
                continue
            if not all(passed for passed, _ in _passes(pool, refined, record["runs"], 3.0)):
                count(stats, "rejected_rationale_fix_failed")
                continue
            if outcome.events and not grounded(monologue, outcome.events, buggy_said or run["output"]):
                count(stats, "rejected_rationale_grounding")
                continue
            failed_test = f"assert {run['call']} == {run['output']}"
            fault = refine_instruction(problems[index], buggy.rstrip("\n"), failed_test_text(run["call"], run["output"]))
            response = (f"[MONOLOGUE]\n{monologue}\n[/MONOLOGUE]\n\n[Refined]\n```python\n{refined.rstrip()}\n```\n"
                        f"[/Refined]")
            rows.append({"id": f"{record['id']}-m{position}", "fault": fault, "response": response,
                         "meta": {"source": record.get("source_kind", "extracted"), "origin": record.get("origin"),
                                  "written_by": "model", "bug": "model", "rationale": "model", "buggy": buggy,
                                  "fix": refined, "failed_test": failed_test, "code_id": record["id"]}})
            count(stats, "pyxr_rows")
            break
    return rows


def run_refine(out: Path, pool: SampleRunner, *, backend=None, samples: int = 2, max_new_tokens: int = 1024,
               progress: bool = True) -> dict:
    folder = require_stage(out, "execute")
    chunks = [list(read_jsonl(p)) for p in stage_shards(folder)]
    if backend is not None:
        return StageRun(out, "refine", progress).run(
            chunks, lambda chunk, stats: model_refine_records(chunk, backend, pool, stats, samples=samples,
                                                              max_new_tokens=max_new_tokens),
            unit="samples", source="model")
    return StageRun(out, "refine", progress).run(chunks, lambda chunk, stats: refine_records(chunk, pool, stats),
                                                 unit="samples", source="template")
