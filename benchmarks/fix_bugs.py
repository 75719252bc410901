"""Single-hunk bugs planted by mutation into HumanEval+/MBPP+ solutions, and what ``duck fix`` makes of them.

For each task picked (fixed seed): the canonical solution, normalised by ``ast.unparse``, gets
one bug from a mutation operator of the kinds one-token / single-statement bug studies report
(augmented operators, arithmetic operators, comparisons, off-by-one constants and bounds, slice
bounds, return values, call arguments, conditions, wrong variable, ``yield``/``yield from``).
The mutator here is written from scratch on ``ast`` and shares nothing with duck's own edit
generator (``duck/repair/edits.py``), so the benchmark does not measure duck against itself.

A mutant is kept only when it fails at least one of the *given* tests: the first few base
inputs of the task, written as ``assert`` lines in the program's ``__main__`` block (the oracle
duck sees). The plus inputs (and the other base inputs) are held out: after ``duck fix``
returns, every fix it listed is called on them in a child process and compared with the
canonical solution's answers. Reported: fixed (a verified fix), right on held-out inputs (the
fix ranked first), wrong-but-passing fixes ranked first (and whether a right one was listed
below), median / max time.

    python benchmarks/fix_bugs.py [--n 40] [--seed 0] [--time-budget 30] [--json out.json]
                                  [--keep DIR] [--only TASK_ID ...] [--baseline CHECKOUT]
                                  [-- duck fix options]

``--baseline /work/main`` runs another checkout's duck on each case just before this one's
(each with ``PYTHONPATH`` set to its checkout), so both are timed under the same load, and
says where their first fixes differ.

This is a measurement, not a test; it needs no model. Data: HumanEval+ and MBPP+ as released
by EvalPlus (Apache-2.0), read from ``--data`` (default ``../shared/data/evalplus``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import gzip
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "evalplus"
GIVEN = 4            # base inputs shown to duck as asserts
MAX_HELDOUT = 150    # held-out inputs per task
MAX_MUTANTS = 40     # mutants tried per task before giving up on it
CANONICAL_CALL_S = 3.0   # the correct solution's time per call (slower inputs are left out)
HELDOUT_CALL_S = 6.0     # a fix's time per held-out call (twice the correct solution's limit)
TYPE_ERRORS = {"TypeError", "AttributeError", "NameError", "UnboundLocalError", "load TypeError", "load NameError"}
OPERATORS = ("augmented", "arithmetic", "comparison", "off-by-one", "slice", "return", "call-args",
             "condition", "variable", "clamp", "yield")

# ---------------------------------------------------------------------------------------------
# running functions in a child (the canonical solution, a mutant, a fix) on literal inputs

CALLER = r"""
import json, signal, sys, copy
class Overtime(BaseException): pass
def alarm(*_): raise Overtime()
signal.signal(signal.SIGALRM, alarm)
source, entry, inputs, per_call = json.load(sys.stdin)
sys.setrecursionlimit(3000)
namespace = {"__name__": "bench"}
out = []
try:
    signal.setitimer(signal.ITIMER_REAL, 5)
    exec(compile(source, "prog.py", "exec"), namespace)
    signal.setitimer(signal.ITIMER_REAL, 0)
except BaseException as exc:
    print(json.dumps([["!", "load " + type(exc).__name__]] * len(inputs))); sys.exit(0)
for args in inputs:
    try:
        signal.setitimer(signal.ITIMER_REAL, per_call)
        value = namespace[entry](*copy.deepcopy(args))
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            text = repr(value)
            ok = len(text) < 20000 and eval(text) == value
        except BaseException:
            ok = False
        out.append(["=", text[:20000], isinstance(value, float), ok])
    except Overtime:
        out.append(["!", "timeout"])
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        out.append(["!", type(exc).__name__])
print(json.dumps(out))
"""


def call_all(source: str, entry: str, inputs: list, per_call: float = 1.0, timeout: float = 60.0) -> list | None:
    try:
        done = subprocess.run([sys.executable, "-c", CALLER], input=json.dumps([source, entry, inputs, per_call]),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return None


def same_answer(got: list, want: list, atol: float) -> bool:
    if got[0] != "=" or want[0] != "=":
        return got[:2] == want[:2]
    if got[1] == want[1]:
        return True
    if want[2]:  # a float: compare within a tolerance
        try:
            return abs(float(eval(got[1])) - float(eval(want[1]))) <= max(atol, 1e-6)
        except Exception:  # noqa: BLE001
            return False
    return False


# ---------------------------------------------------------------------------------------------
# the mutator (independent of duck's edit generator)

_AUG = {ast.Add: [ast.Sub, ast.Mult], ast.Sub: [ast.Add], ast.Mult: [ast.Add, ast.FloorDiv],
        ast.FloorDiv: [ast.Mult, ast.Mod], ast.Div: [ast.FloorDiv, ast.Mult], ast.Mod: [ast.FloorDiv]}
_BIN = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Add, ast.Pow], ast.FloorDiv: [ast.Div, ast.Mod],
        ast.Div: [ast.FloorDiv, ast.Mult], ast.Mod: [ast.FloorDiv], ast.Pow: [ast.Mult]}
_CMP = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt, ast.GtE], ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt, ast.LtE],
        ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn], ast.NotIn: [ast.In]}


def _names_in(function: ast.AST) -> list[str]:
    names = {a.arg for a in ast.walk(function) if isinstance(a, ast.arg)}
    names |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return sorted(names)


def _sites(tree: ast.Module) -> list[tuple[str, ast.AST, ast.AST, list[str]]]:
    """(operator, node, its function, names in scope) for every place a mutation may go."""
    sites = []
    for function in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        names = _names_in(function)
        for node in ast.walk(function):
            if isinstance(node, ast.AugAssign) and type(node.op) in _AUG:
                sites.append(("augmented", node, function, names))
            elif isinstance(node, ast.BinOp) and type(node.op) in _BIN:
                sites.append(("arithmetic", node, function, names))
            elif isinstance(node, ast.Compare) and type(node.ops[0]) in _CMP:
                sites.append(("comparison", node, function, names))
            elif isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 1000:
                sites.append(("off-by-one", node, function, names))
            elif isinstance(node, ast.Slice) and (node.lower or node.upper):
                sites.append(("slice", node, function, names))
            elif isinstance(node, ast.Return) and node.value is not None:
                sites.append(("return", node, function, names))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("max", "min") \
                    and len(node.args) == 2 and any(isinstance(a, ast.Constant) for a in node.args):
                sites.append(("clamp", node, function, names))
            elif isinstance(node, ast.Call) and node.args and not any(isinstance(a, ast.Starred) for a in node.args):
                sites.append(("call-args", node, function, names))
            elif isinstance(node, (ast.BoolOp, ast.If, ast.While, ast.IfExp)):
                sites.append(("condition", node, function, names))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
                sites.append(("variable", node, function, names))
            elif isinstance(node, (ast.Yield, ast.YieldFrom)) and node.value is not None:
                sites.append(("yield", node, function, names))
    return sites


def _mutations(kind: str, node: ast.AST, names: list[str], rng: random.Random) -> list[tuple[str, callable]]:
    """(description, function that mutates ``node`` in place) for one site."""
    out = []
    if kind == "augmented":
        for op in _AUG[type(node.op)]:
            out.append((f"augmented {type(node.op).__name__} -> {op.__name__}", lambda n=node, o=op: setattr(n, "op", o())))
        out.append((f"augmented {type(node.op).__name__} -> plain assignment", lambda n=node: _to_assign(n)))
    elif kind == "clamp":
        kept = next(a for a in node.args if not isinstance(a, ast.Constant))
        out.append((f"clamp {node.func.id}(...) dropped", lambda n=node, k=kept: _replace_call(n, k)))
    elif kind == "arithmetic":
        for op in _BIN[type(node.op)]:
            out.append((f"{type(node.op).__name__} -> {op.__name__}", lambda n=node, o=op: setattr(n, "op", o())))
    elif kind == "comparison":
        for op in _CMP[type(node.ops[0])]:
            out.append((f"{type(node.ops[0]).__name__} -> {op.__name__}",
                        lambda n=node, o=op: n.ops.__setitem__(0, o())))
    elif kind == "off-by-one":
        for delta in (1, -1):
            out.append((f"constant {node.value} -> {node.value + delta}",
                        lambda n=node, d=delta: setattr(n, "value", n.value + d)))
    elif kind == "slice":
        for part in ("lower", "upper"):
            bound = getattr(node, part)
            if bound is None:
                continue
            for delta in (1, -1):
                out.append((f"slice {part} {delta:+d}", lambda n=node, p=part, b=bound, d=delta: setattr(
                    n, p, ast.BinOp(b, ast.Add() if d > 0 else ast.Sub(), ast.Constant(1)))))
            out.append((f"slice {part} dropped", lambda n=node, p=part: setattr(n, p, None)))
    elif kind == "return":
        value = node.value
        # what a slip looks like: the element instead of the list (or the reverse), the other branch, another name
        parts = [value.value] if isinstance(value, ast.Subscript) else (
            [value.body, value.orelse] if isinstance(value, ast.IfExp) else [])
        for part in parts:
            out.append((f"return {ast.unparse(part)} instead of {ast.unparse(value)}",
                        lambda n=node, p=part: setattr(n, "value", p)))
        if isinstance(value, (ast.Name, ast.Constant)):
            for name in rng.sample(names, min(2, len(names))):
                if ast.unparse(value) != name:
                    out.append((f"return {name} instead of {ast.unparse(value)}",
                                lambda n=node, x=name: setattr(n, "value", ast.Name(x, ast.Load()))))
    elif kind == "call-args":
        args = node.args
        if len(args) >= 2:
            out.append(("call arguments swapped", lambda n=node: n.args.__setitem__(slice(0, 2), [n.args[1], n.args[0]])))
        for index, arg in enumerate(args[:3]):
            for delta in (1, -1):
                out.append((f"call argument {index} {delta:+d}", lambda n=node, i=index, a=arg, d=delta: n.args.__setitem__(
                    i, ast.BinOp(a, ast.Add() if d > 0 else ast.Sub(), ast.Constant(1)))))
            if isinstance(arg, ast.Name):
                others = [x for x in names if x != arg.id]
                if others:
                    other = rng.choice(others)
                    out.append((f"call argument {arg.id} -> {other}",
                                lambda n=node, i=index, x=other: n.args.__setitem__(i, ast.Name(x, ast.Load()))))
    elif kind == "condition":
        if isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            out.append((f"{type(node.op).__name__} -> {other.__name__}", lambda n=node, o=other: setattr(n, "op", o())))
        else:
            out.append(("condition negated", lambda n=node: setattr(n, "test", ast.UnaryOp(ast.Not(), n.test))))
            if isinstance(node.test, ast.BoolOp):
                for index in range(len(node.test.values)):
                    out.append((f"operand {index} of the condition dropped",
                                lambda n=node, i=index: setattr(n, "test", _without(n.test, i))))
    elif kind == "variable":
        others = [x for x in names if x != node.id]
        if others:
            other = rng.choice(others)
            out.append((f"variable {node.id} -> {other}", lambda n=node, x=other: setattr(n, "id", x)))
    elif kind == "yield":
        out.append(("yield <-> yield from", lambda n=node: setattr(n, "__class__", ast.YieldFrom if isinstance(n, ast.Yield) else ast.Yield)))
    return out


def _to_assign(node: ast.AugAssign) -> None:
    """``x += e`` -> ``x = e`` in place (the node becomes an ``Assign``)."""
    target, value = node.target, node.value
    node.__class__ = ast.Assign
    node.targets, node.value, node.type_comment = [target], value, None
    del node.op, node.target


def _replace_call(node: ast.Call, kept: ast.expr) -> None:
    """The call becomes its kept argument, in place: ``max(x, 0)`` -> ``x``."""
    fields = dict(vars(kept))
    node.__dict__.clear()
    node.__class__ = kept.__class__
    node.__dict__.update(fields)


def _without(test: ast.BoolOp, index: int) -> ast.expr:
    values = test.values[:index] + test.values[index + 1:]
    return values[0] if len(values) == 1 else ast.BoolOp(test.op, values)


def mutants(source: str, want: str, rng: random.Random) -> list[tuple[str, str, str]]:
    """(operator, description, mutated source) candidates, operator ``want`` first, in random order."""
    tree = ast.parse(source)
    sites = list(enumerate(_sites(tree)))
    rng.shuffle(sites)
    sites.sort(key=lambda s: s[1][0] != want)  # stable: the wanted operator's sites first
    found = []
    for index, (kind, node, _, names) in sites:
        count = len(_mutations(kind, node, names, random.Random(index)))
        choices = list(range(count))
        rng.shuffle(choices)
        for choice in choices:
            tree_copy = copy.deepcopy(tree)
            target = _same_node(tree, tree_copy, node)
            description, mutate = _mutations(kind, target, names, random.Random(index))[choice]
            mutate()
            try:
                text = ast.unparse(ast.fix_missing_locations(tree_copy)) + "\n"
                compile(text, "prog.py", "exec")
            except (SyntaxError, ValueError, TypeError, AttributeError):
                continue
            if text != source:
                found.append((kind, description, text))
        if len(found) >= MAX_MUTANTS:
            break
    return found


def _same_node(tree: ast.AST, other: ast.AST, node: ast.AST) -> ast.AST:
    for a, b in zip(ast.walk(tree), ast.walk(other)):
        if a is node:
            return b
    raise LookupError("node not found")


# ---------------------------------------------------------------------------------------------
# cases


def load_tasks(data: Path) -> list[dict]:
    tasks = []
    for name, prefix in (("HumanEvalPlus.jsonl.gz", True), ("MbppPlus.jsonl.gz", False)):
        with gzip.open(data / name, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                code = row["prompt"] + row["canonical_solution"] if prefix else row["canonical_solution"]
                tasks.append({"id": row["task_id"], "code": code, "entry": row["entry_point"],
                              "base": row["base_input"], "plus": row["plus_input"], "atol": row.get("atol") or 0})
    return tasks


def _strip_docstrings(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            node.body = node.body[1:] or [ast.Pass()]


def _assert_line(entry: str, args: list, answer: list, atol: float) -> str:
    call = f"{entry}({', '.join(repr(a) for a in args)})"
    if answer[2]:
        return f"    assert abs({call} - {answer[1]}) <= {max(atol, 1e-6)!r}"
    return f"    assert {call} == {answer[1]}"


def build_case(task: dict, operator: str, rng: random.Random) -> dict | None:
    try:
        tree = ast.parse(task["code"])
    except SyntaxError:
        return None
    _strip_docstrings(tree)
    source = ast.unparse(tree) + "\n"
    inputs = [i for i in task["base"] if _literal(i)]
    given_inputs = inputs[:GIVEN]
    heldout_inputs = (inputs[GIVEN:] + [i for i in task["plus"] if _literal(i)])
    heldout_inputs = [json.loads(t) for t in dict.fromkeys(json.dumps(i) for i in heldout_inputs)][:MAX_HELDOUT]
    if len(given_inputs) < 2 or not heldout_inputs or len(json.dumps(given_inputs)) > 1500:
        return None
    answers = call_all(source, task["entry"], given_inputs + heldout_inputs, per_call=CANONICAL_CALL_S, timeout=600)
    if not answers or any(a[0] != "=" or not a[3] for a in answers[:len(given_inputs)]):
        return None  # a given answer must be a literal the assert can state
    if any(a[0] != "=" for a in answers):
        keep = [i for i, a in enumerate(answers) if a[0] == "=" and i >= len(given_inputs)]
        heldout_inputs = [heldout_inputs[i - len(given_inputs)] for i in keep]
        answers = answers[:len(given_inputs)] + [answers[i] for i in keep]
    given, heldout = answers[:len(given_inputs)], answers[len(given_inputs):]
    if not heldout:
        return None
    for kind, description, text in mutants(source, operator, rng):
        got = call_all(text, task["entry"], given_inputs, per_call=1.0, timeout=20)
        if got is None:
            continue
        failing = [i for i, (g, w) in enumerate(zip(got, given)) if not same_answer(g, w, task["atol"])]
        if not failing or all(g[0] == "!" and g[1] in TYPE_ERRORS for g in got):
            continue  # equivalent on the given tests, or a mutant no programmer writes (ill-typed everywhere)
        main = "\n".join(_assert_line(task["entry"], args, answer, task["atol"]) for args, answer in zip(given_inputs, given))
        return {"id": task["id"], "entry": task["entry"], "operator": kind, "mutation": description,
                "correct": source, "buggy": text, "program": text + "\n\nif __name__ == '__main__':\n" + main + "\n",
                "given_failing": len(failing), "given": len(given), "heldout_inputs": heldout_inputs,
                "heldout_answers": heldout, "atol": task["atol"]}
    return None


def _literal(value) -> bool:
    try:
        return ast.literal_eval(repr(value)) == value
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        return False


def pick_cases(tasks: list[dict], n: int, seed: int, only: list[str] | None) -> list[dict]:
    rng = random.Random(seed)
    order = list(tasks)
    rng.shuffle(order)
    if only:
        order = [t for t in order if t["id"] in only]
    cases = []
    for task in order:
        operator = OPERATORS[len(cases) % (len(OPERATORS) - 1)]  # "yield" only where a task has one
        case = build_case(task, operator, random.Random(f"{seed}:{task['id']}"))
        if case is not None:
            cases.append(case)
        if len(cases) >= n:
            break
    return cases


def right_on_heldout(source: str, case: dict) -> tuple[bool, int]:
    # a generous limit per call: a loaded machine must not make a right fix look wrong
    got = call_all(source, case["entry"], case["heldout_inputs"], per_call=HELDOUT_CALL_S, timeout=600)
    if got is None:
        return False, len(case["heldout_inputs"])
    wrong = sum(1 for g, w in zip(got, case["heldout_answers"]) if not same_answer(g, w, case["atol"]))
    return wrong == 0, wrong


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_case(case: dict, extra: list[str], budget: float, keep: Path | None, duck_root: Path = HERE.parent) -> dict:
    with tempfile.TemporaryDirectory(prefix="duck-bugs-") as tmp:
        work = Path(tmp) / "case"
        work.mkdir()
        (work / "prog.py").write_text(case["program"], encoding="utf-8")
        if keep is not None:
            folder = keep / case["id"].replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "prog.py").write_text(case["program"], encoding="utf-8")
            (folder / "correct.py").write_text(case["correct"], encoding="utf-8")
        command = [sys.executable, "-m", "duck", "fix", "prog.py", "--json", "--time-budget", str(budget), *extra]
        started = time.monotonic()
        cpu_before = _children_cpu()
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(duck_root)),
                                  timeout=budget * 3 + 60)
            stdout, stderr = done.stdout, done.stderr
        except subprocess.TimeoutExpired:
            stdout, stderr = "", "duck fix did not return"
        elapsed = time.monotonic() - started
        cpu = _children_cpu() - cpu_before  # duck and every process it waited for (servers, their runs)
    row = {"id": case["id"], "operator": case["operator"], "mutation": case["mutation"], "seconds": round(elapsed, 2),
           "cpu_seconds": round(cpu, 2),
           "fixed": False, "right": False, "fixes": 0, "right_listed": False, "fix": None, "note": ""}
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        row["note"] = (stderr.strip().splitlines() or ["no output"])[-1][:200]
        return row
    row["candidates"] = report.get("candidates_run")
    row["recorded"] = report.get("recorded_runs")
    if not report.get("failed"):
        row["note"] = "the buggy program passes its given tests (a bad case)"
    fixes = report.get("fixes") or []
    row["fixes"] = len(fixes)
    verdicts = [right_on_heldout(f["patched_source"], case) for f in fixes]
    if fixes:
        row["fixed"] = True
        row["fix"] = fixes[0]["description"]
        row["patched_source"] = fixes[0]["patched_source"]
        row["right"], wrong = verdicts[0]
        row["right_listed"] = any(ok for ok, _ in verdicts)
        if not row["right"]:
            row["note"] = f"wrong on {wrong}/{len(case['heldout_inputs'])} held-out inputs"
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding HumanEvalPlus/MbppPlus .jsonl.gz")
    parser.add_argument("--n", type=int, default=40, help="how many bugs (tasks) to plant and fix (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-budget", type=float, default=30.0, help="duck fix --time-budget per case (default 30)")
    parser.add_argument("--only", nargs="*", help="task ids to use (e.g. HumanEval/3 Mbpp/6)")
    parser.add_argument("--keep", type=Path, help="also write each case's prog.py and correct.py under this folder")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--baseline", type=Path, help="another duck checkout (e.g. /work/main) run on each case "
                        "just before this one, so both are timed under the same load")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="more duck fix options after --")
    args = parser.parse_args()
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    cases = pick_cases(load_tasks(args.data), args.n, args.seed, args.only)
    print(f"duck fix on {len(cases)} planted single-hunk bugs (HumanEval+/MBPP+, seed {args.seed}) on "
          f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"time budget {args.time_budget:g} s each; load average {os.getloadavg()[0]:.1f} (timings scale with it)",
          flush=True)
    rows, base_rows = [], []
    for case in cases:
        if args.baseline is not None:
            base_rows.append(run_case(case, extra, args.time_budget, None, args.baseline.resolve()))
            _print_row(base_rows[-1], "base ")
        rows.append(run_case(case, extra, args.time_budget, args.keep))
        _print_row(rows[-1], "this " if args.baseline is not None else "")
    if args.baseline is not None:
        print(f"\n== baseline {args.baseline}")
        _summarize(base_rows)
        changed = [(b["id"], b["fix"], r["fix"]) for b, r in zip(base_rows, rows) if b["fix"] != r["fix"]]
        print(f"\n== this checkout ({len(changed)} case(s) whose first fix differs from the baseline's"
              + "".join(f"\n  {i}: {b!r} -> {r!r}" for i, b, r in changed) + ")")
    _summarize(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "baseline": base_rows} if base_rows else rows,
                                              indent=2) + "\n")
    return 0


def _print_row(row: dict, prefix: str) -> None:
    status = "RIGHT" if row["right"] else ("WRONG-FIRST" if row["fixed"] else "no fix")
    print(f"{prefix}{row['id']:14} {row['operator']:11} {row['seconds']:6.1f}s {row.get('cpu_seconds') or 0:5.2f}cpu "
          f"{row.get('candidates') or 0:4} "
          f"{row.get('recorded') or 0:3}  {status:11} "
          f"{(row['fix'] or '')[:70]} {('| ' + row['note']) if row['note'] else ''}", flush=True)


def _summarize(rows: list[dict]) -> None:
    fixed = [r for r in rows if r["fixed"]]
    right = [r for r in fixed if r["right"]]
    wrong_first = [r for r in fixed if not r["right"]]
    wrong_over_right = [r for r in wrong_first if r["right_listed"]]
    times = sorted(r["seconds"] for r in rows)
    cpu = sorted(r.get("cpu_seconds") or 0.0 for r in rows)
    print(f"\nfixed (a verified fix): {len(fixed)}/{len(rows)}; right on held-out inputs (fix ranked first): "
          f"{len(right)}/{len(rows)} ({100 * len(right) / max(1, len(rows)):.0f}%)")
    print(f"wrong-but-passing fix ranked first: {len(wrong_first)} "
          f"({len(wrong_over_right)} of them with a right fix listed below it)")
    for r in wrong_first:
        print(f"  {r['id']:14} {r['operator']:11} {r['mutation'][:40]:40} -> {(r['fix'] or '')[:60]}")
    by_operator: dict[str, list[dict]] = {}
    for r in rows:
        by_operator.setdefault(r["operator"], []).append(r)
    print("per operator (right/total): " + ", ".join(
        f"{k} {sum(1 for r in v if r['right'])}/{len(v)}" for k, v in sorted(by_operator.items())))
    if times:
        print(f"time per program: median {times[len(times) // 2]:.1f} s, max {times[-1]:.1f} s "
              f"(load average now {os.getloadavg()[0]:.1f}); candidates screened {sum(r.get('candidates') or 0 for r in rows)}, "
              f"recorded {sum(r.get('recorded') or 0 for r in rows)}")
        print(f"CPU per program (duck and all its processes, which load does not inflate as much): "
              f"median {cpu[len(cpu) // 2]:.2f} s, max {cpu[-1]:.2f} s, total {sum(cpu):.1f} s")


if __name__ == "__main__":
    sys.exit(main())
