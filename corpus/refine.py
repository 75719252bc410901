"""The refine stage (PyX-R): buggy variants, the first failed test, a rationale and the fix.

Buggy variants come from small AST mutations of a correct, executed function (a flipped
comparison or membership test, ``+``/``-`` and other operators swapped (also in ``+=``), an
off-by-one constant or slice bound, ``and``/``or`` swapped, a dropped ``not``, ``min``/``max``
and ``any``/``all`` swapped, a negated boolean). A variant is used when it still runs but fails one of the sample's tests; the
rationale is the buggy run told by duck's narrator (``duck.narration.refine_simulation``,
the same rendering as forward monologues and ``duck run``) and where it diverges from the correct
run (first differing step); the fix (the correct code) is kept only when it passes every
test and agrees with the original on them (differential testing). Tests are judged here, not in
the sandbox: each call runs confined (``corpus.jobs``) and returns its value as data, which is
compared with the value the execute stage recorded. It does not
use a model; model-written rationales are a gap named in the report.
"""

from __future__ import annotations

import ast
import random
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
    rows = []
    for record in records:
        code, runs = record["code"], record["runs"]
        made = 0
        executed = {e["line"] for run in runs for e in run["events"] if e["event"] == "line"}
        for buggy, kind in mutants(code, seed=zlib.crc32(record["id"].encode()), executed=executed):
            count(stats, "mutants")
            checks = _passes(pool, buggy, runs, 2.0)
            failed = next((i for i, (passed, _) in enumerate(checks) if not passed), None)
            if failed is None:
                count(stats, "mutants_equivalent_on_tests")
                continue
            if checks[failed][1].timed_out or checks[failed][1].crashed:
                count(stats, "mutants_hang")
                continue
            run = runs[failed]
            traced = pool.run(SampleJob(buggy, call=run["call"], trace=True, timeout_s=2.0))
            if not traced.events or (traced.ok and traced.text is None):
                count(stats, "mutants_untraceable")
                continue
            outcome = f"returns `{traced.text}`" if traced.ok else f"raises `{traced.exception_type}`"
            # differential test of the fix: it must pass every test and match the original's outputs
            fix = ast.unparse(ast.parse(code)) + "\n"
            if not all(passed for passed, _ in _passes(pool, fix, runs, 3.0)):
                count(stats, "rejected_fix_failed")
                continue
            failed_test = f"assert {run['call']} == {run['output']}"
            fault = refine_instruction(problem_text(record).strip(), buggy.rstrip("\n"),
                                       failed_test_text(run["call"], run["output"]))
            rows.append({"id": f"{record['id']}-r{made}", "fault": fault,
                         "response": rationale(buggy, fix, run, traced.events, outcome),
                         "meta": {"source": record.get("source_kind", "extracted"), "origin": record.get("origin"),
                                  "mutation": kind, "rationale": "trace-divergence", "buggy": buggy, "fix": fix,
                                  "failed_test": failed_test, "code_id": record["id"]}})
            count(stats, "pyxr_rows")
            made += 1
            if made >= per_sample:
                break
    return rows


def run_refine(out: Path, pool: SampleRunner, *, progress: bool = True) -> dict:
    folder = require_stage(out, "execute")
    chunks = [list(read_jsonl(p)) for p in stage_shards(folder)]
    return StageRun(out, "refine", progress).run(chunks, lambda chunk, stats: refine_records(chunk, pool, stats), unit="samples")
