"""The extract stage: self-contained, deterministic, I/O-free functions with inputs that run.

From each seed function it keeps those that use only their parameters, safe builtins, pure
standard modules (``math``, ``re``, ``itertools``...) and literal constants (module-level ones
are copied above the function from the seed's ``context``), renames them ``f`` (SemCoder's and
CRUXEval's convention) and generates inputs: type-aware guesses from annotations, defaults,
parameter names and how the body uses each parameter (values built from the code's own
constants included), then mutations of inputs that ran.
Candidates run in the sandbox with arc coverage; a greedy pick keeps up to ``max_inputs``
inputs that add coverage, and the stage reports the line and branch coverage they reach.
It does not check determinism or record traces (the execute stage does).
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass, field
from pathlib import Path

from corpus.jobs import Outcome, SampleJob, SampleRunner
from corpus.shards import StageRun, count, read_stage, require_stage, stage_shards

SAFE_BUILTINS = {
    "abs", "all", "any", "bin", "bool", "chr", "dict", "divmod", "enumerate", "filter", "float",
    "format", "frozenset", "hex", "int", "isinstance", "issubclass", "iter", "len", "list", "map",
    "max", "min", "next", "oct", "ord", "pow", "range", "repr", "reversed", "round", "set",
    "slice", "sorted", "str", "sum", "tuple", "zip", "print", "ValueError", "TypeError",
    "KeyError", "IndexError", "ZeroDivisionError", "StopIteration", "Exception", "ArithmeticError",
    "AssertionError", "RuntimeError", "NotImplementedError", "OverflowError", "True", "False",
    "None", "callable", "getattr", "hasattr", "type", "object", "bytes", "bytearray", "complex",
    "AttributeError", "LookupError", "UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError",
    "EOFError", "ImportError", "FloatingPointError", "RecursionError", "BaseException", "NameError",
    "NotImplemented", "Ellipsis",
}
PURE_MODULES = {"math", "re", "itertools", "collections", "functools", "string", "heapq",
                "bisect", "operator", "fractions", "decimal", "statistics", "textwrap", "unicodedata"}
FORBIDDEN_NAMES = {"open", "input", "exec", "eval", "compile", "__import__", "globals", "locals",
                   "vars", "setattr", "delattr", "breakpoint", "exit", "quit", "help", "id", "hash"}
STR_METHODS = {"split", "strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith",
               "replace", "find", "rfind", "isdigit", "isalpha", "isspace", "splitlines", "encode",
               "title", "capitalize", "count", "partition", "rpartition", "format", "casefold",
               "isupper", "islower", "zfill", "center", "ljust", "rjust", "expandtabs", "isalnum"}
LIST_METHODS = {"append", "extend", "pop", "sort", "insert", "remove", "reverse", "index"}
DICT_METHODS = {"items", "keys", "values", "get", "setdefault", "update"}

POOLS = {
    "int": [0, 1, 2, 3, 4, 5, 7, 10, 12, -1, -4, 42, 100],
    "float": [0.0, 0.5, 1.5, -2.25, 3.0, 10.0],
    "bool": [True, False],
    "str": ["", "a", "abc", "hello world", "Hello, World!", "aAbB12", "racecar", "  spaced  ",
            "x,y,z", "mississippi", "a-b_c", "123", "The quick brown fox"],
}
LIMITS = {"max_params": 4, "min_lines": 2, "max_lines": 40, "max_repr": 120}


@dataclass
class Candidate:
    """A standalone function ready for input generation."""

    code: str
    params: list[str]
    kinds: list[str]
    docstring: str
    defaults: dict = field(default_factory=dict)


def _bound_names(func: ast.FunctionDef) -> set[str]:
    bound = {a.arg for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _prelude(free: set[str], context: dict[str, str]) -> list[str] | None:
    """Statements binding ``free`` from the seed's module context (pure-module imports and
    literal constants), or None when a name has no such binding."""
    statements = []
    for name in sorted(free):
        statement = context.get(name)
        if statement is None or name == "f":
            return None
        node = ast.parse(statement).body[0]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.names[0].name if isinstance(node, ast.Import) else node.module or ""
            if module.split(".")[0] not in PURE_MODULES:
                return None
        statements.append(statement)
    return statements


def standalone(source: str, context: dict[str, str] | None = None) -> tuple[Candidate | None, str]:
    """The seed as a self-contained function named ``f``, or ``(None, reason)``. Module-level
    names it uses are bound by a prelude taken from ``context`` (name -> statement, from the
    seeds stage) when they are imports of pure modules or literal constants."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None, "syntax"
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        return None, "not_a_function"
    func = tree.body[0]
    args = func.args
    if args.vararg or args.kwarg or args.kwonlyargs:
        return None, "varargs"
    params = [a.arg for a in args.posonlyargs + args.args]
    if not 1 <= len(params) <= LIMITS["max_params"]:
        return None, "parameter_count"
    for node in ast.walk(func):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal,
                             ast.ClassDef, ast.AsyncFunctionDef, ast.With, ast.AsyncWith)):
            return None, "unsupported_statement"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(m.split(".")[0] not in PURE_MODULES for m in modules) or getattr(node, "level", 0):
                return None, "impure_import"
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            return None, "io_or_reflection"
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return None, "io_or_reflection"
    bound = _bound_names(func) | {func.name}
    free = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound
    prelude = _prelude(free - SAFE_BUILTINS, context or {})
    if prelude is None:
        return None, "free_names"
    body = func.body
    docstring = ast.get_docstring(func) or ""
    if docstring:
        body = body[1:]
    if not body:
        return None, "empty"
    if not any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(func)):
        return None, "no_return_value"
    original = func.name
    recursive = any(isinstance(n, ast.Name) and n.id == original for n in ast.walk(func))
    if recursive and "f" in bound - {original}:
        return None, "name_clash"
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and node.id == original:
            node.id = "f"
    func.name = "f"
    func.body = body
    func.returns = None
    defaults = {}
    all_args = args.posonlyargs + args.args
    for arg, default in zip(all_args[len(all_args) - len(args.defaults):], args.defaults):
        try:
            defaults[arg.arg] = ast.literal_eval(default)
        except ValueError:
            pass
    kinds = [_param_kind(func, a) for a in all_args]
    for a in all_args:
        a.annotation = None
    code = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    lines = [l for l in code.splitlines() if l.strip()]
    if prelude:
        code = "\n".join(prelude) + "\n\n" + code
    if not LIMITS["min_lines"] < len(lines) <= LIMITS["max_lines"]:
        return None, "size"
    return Candidate(code, params, kinds, docstring, defaults), "ok"


def _param_kind(func: ast.FunctionDef, arg: ast.arg) -> str:
    """A type guess for one parameter: int, float, bool, str, list, dict or any."""
    if arg.annotation is not None:
        text = ast.unparse(arg.annotation).lower()
        for kind, words in (("bool", ("bool",)), ("int", ("int",)), ("float", ("float",)),
                            ("str", ("str",)), ("dict", ("dict", "mapping")),
                            ("list", ("list", "sequence", "iterable", "tuple", "set"))):
            if any(w in text for w in words):
                return kind
    name = arg.arg
    votes: dict[str, int] = {}

    def vote(kind: str, weight: int = 1) -> None:
        votes[kind] = votes.get(kind, 0) + weight

    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name:
            if node.attr in STR_METHODS:
                vote("str", 3)
            elif node.attr in LIST_METHODS:
                vote("list", 3)
            elif node.attr in DICT_METHODS:
                vote("dict", 3)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and any(
                isinstance(a, ast.Name) and a.id == name for a in node.args):
            if node.func.id == "range":
                vote("int", 3)
            elif node.func.id in ("len", "sorted", "sum", "enumerate", "reversed", "max", "min"):
                vote("list", 1)
            elif node.func.id in ("ord",):
                vote("str", 3)
            elif node.func.id in ("chr", "bin", "hex"):
                vote("int", 3)
        elif isinstance(node, (ast.BinOp, ast.Compare, ast.AugAssign)):
            operands = [node.left, node.right] if isinstance(node, ast.BinOp) else (
                [node.left, *node.comparators] if isinstance(node, ast.Compare) else [node.target, node.value])
            if any(isinstance(o, ast.Name) and o.id == name for o in operands):
                for o in operands:
                    if isinstance(o, ast.Constant) and type(o.value) in (int, float, str):
                        vote(type(o.value).__name__, 2)
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Name) and node.iter.id == name:
            vote("list", 2)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
            vote("dict" if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) else "list", 1)
    lowered = name.lower()
    if lowered in ("n", "i", "j", "k", "m", "num", "count", "size", "index", "width", "depth", "level", "x", "y") or lowered.startswith(("num_", "n_")):
        vote("int", 2)
    elif lowered in ("s", "text", "string", "name", "word", "line", "prefix", "suffix", "sep", "char", "c") or lowered.endswith(("name", "str", "text")):
        vote("str", 2)
    elif lowered.endswith("s") or lowered in ("lst", "seq", "arr", "items", "values", "nums", "data"):
        vote("list", 1)
    elif lowered.startswith(("is_", "has_", "use_")) or lowered in ("flag", "strict", "reverse"):
        vote("bool", 2)
    return max(votes, key=votes.get) if votes else "any"


def code_literals(code: str) -> dict[str, list]:
    """Values built from the constants the code compares with or searches for: a string
    constant alone, inside a word and doubled; an int constant and its neighbours. Inputs
    made of them reach the branches random pool values miss (``if ':' in s``, ``n > 100``)."""
    found: dict[str, list] = {"str": [], "int": []}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Constant) and type(node.value) is str and 0 < len(node.value) <= 8 and "\n" not in node.value:
            c = node.value
            found["str"] += [c, f"ab{c}cd", f"{c}x{c}"]
        elif isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) <= 1000:
            found["int"] += [node.value - 1, node.value, node.value + 1]
    return {kind: list(dict.fromkeys(values)) for kind, values in found.items() if values}


def _value(kind: str, rng: random.Random, literals: dict[str, list] | None = None):
    if kind in POOLS:
        if literals and kind in literals and rng.random() < 0.5:
            return rng.choice(literals[kind])
        return rng.choice(POOLS[kind])
    if kind == "list":
        element = rng.choice(["int", "int", "str"])
        return [_value(element, rng, literals) for _ in range(rng.randint(0, 6))]
    if kind == "dict":
        return {rng.choice("abcdefgh"): rng.choice(POOLS["int"]) for _ in range(rng.randint(0, 4))}
    return _value(rng.choice(["int", "str", "list"]), rng, literals)


def mutate_value(value, rng: random.Random):
    """A small edit of a value that ran: near-boundary ints, edited strings and lists."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([value + 1, value - 1, value * 2, -value, 0])
    if isinstance(value, float):
        return rng.choice([value + 0.5, -value, value * 2])
    if isinstance(value, str):
        if value and rng.random() < 0.5:
            i = rng.randrange(len(value))
            return value[:i] + value[i + 1:]
        return value + rng.choice("aZ 1,.")
    if isinstance(value, list):
        copy = list(value)
        op = rng.choice(["append", "drop", "reverse", "change"])
        if op == "append" or not copy:
            copy.append(mutate_value(copy[-1], rng) if copy else rng.choice(POOLS["int"]))
        elif op == "drop":
            copy.pop(rng.randrange(len(copy)))
        elif op == "reverse":
            copy.reverse()
        else:
            i = rng.randrange(len(copy))
            copy[i] = mutate_value(copy[i], rng)
        return copy
    if isinstance(value, dict):
        copy = dict(value)
        copy[rng.choice("abcdefghij")] = rng.choice(POOLS["int"])
        return copy
    return value


def call_text(args: list) -> str:
    return "f(" + ", ".join(repr(a) for a in args) + ")"


def _first_inputs(candidate: Candidate, rng: random.Random, n: int) -> list[list]:
    inputs = []
    literals = code_literals(candidate.code)
    if len(candidate.defaults) == len(candidate.params):
        inputs.append([candidate.defaults[p] for p in candidate.params])
    for _ in range(n):
        inputs.append([candidate.defaults[p] if p in candidate.defaults and rng.random() < 0.3
                       else _value(kind, rng, literals) for p, kind in zip(candidate.params, candidate.kinds)])
    return inputs


def usable_outcome(result: Outcome, call: str) -> bool:
    text = result.text
    return (text is not None and len(call) <= LIMITS["max_repr"] and len(text) <= LIMITS["max_repr"]
            and len(result.stdout) <= 2000)


def code_lines_and_branches(code: str) -> tuple[set[int], list[tuple[int, int]]]:
    """Executable body lines of ``f`` and its branch points (header line, first body line)."""
    tree = ast.parse(code)
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")
    lines = {n.lineno for n in ast.walk(func) if isinstance(n, ast.stmt) and n is not func}
    branches = [(n.lineno, n.body[0].lineno) for n in ast.walk(func) if isinstance(n, (ast.If, ast.While, ast.For))]
    return lines, branches


def coverage_of(code: str, arcs: set[tuple[int, int]]) -> dict:
    """Line and branch-outcome coverage of ``code`` reached by ``arcs``."""
    lines, branches = code_lines_and_branches(code)
    hit = {b for _, b in arcs if b > 0}
    outcomes = 0
    for header, body in branches:
        nexts = {b for a, b in arcs if a == header}
        outcomes += (body in nexts) + bool(nexts - {body})
    return {"lines": len(lines), "lines_hit": len(lines & hit),
            "branch_outcomes": 2 * len(branches), "branch_outcomes_hit": outcomes}


def extract_inputs(pool: SampleRunner, candidates: list[tuple[str, Candidate]], *, seed: int = 0,
                   first: int = 12, mutations: int = 16, max_inputs: int = 5,
                   timeout_s: float = 2.0, stats: dict | None = None) -> dict[str, list[dict]]:
    """Inputs that run for each candidate: ``{seed id: [{"call", "output", "arcs"}...]}``."""
    kept: dict[str, list[dict]] = {key: [] for key, _ in candidates}

    def run_round(batches: dict[str, list[list]]) -> None:
        jobs, owners = [], []
        for key, inputs in batches.items():
            code = dict(candidates)[key].code
            seen = {k["call"] for k in kept[key]}
            for args in inputs:
                call = call_text(args)
                if call in seen:
                    continue
                seen.add(call)
                jobs.append(SampleJob(code, call=call, timeout_s=timeout_s, coverage=True))
                owners.append((key, args, call))
        for (key, args, call), result in zip(owners, pool.imap(jobs)):
            if stats is not None:
                count(stats, "input_runs")
                for flag in ("timed_out", "crashed"):
                    if getattr(result, flag):
                        count(stats, f"hostile_{flag}")
                if result.strays:
                    count(stats, "hostile_left_processes")
            if usable_outcome(result, call):
                kept[key].append({"call": call, "args": args, "output": result.text, "value": result.value,
                                  "arcs": {tuple(a) for a in result.arcs or []}})

    by_key = dict(candidates)
    rngs = {key: random.Random(f"{seed}:{key}") for key, _ in candidates}
    run_round({key: _first_inputs(c, rngs[key], first) for key, c in candidates})
    run_round({key: [[mutate_value(a, rngs[key]) for a in rngs[key].choice(kept[key])["args"]]
                     for _ in range(mutations)]
               for key in by_key if kept[key]})
    chosen: dict[str, list[dict]] = {}
    for key, runs in kept.items():
        picked, covered = [], set()
        outputs = set()
        for _ in range(max_inputs):
            best = max(runs, key=lambda r: (len(r["arcs"] - covered), r["output"] not in outputs,
                                            -len(r["call"])), default=None)
            if best is None or (picked and not (best["arcs"] - covered) and best["output"] in outputs):
                break
            runs = [r for r in runs if r is not best]
            picked.append(best)
            covered |= best["arcs"]
            outputs.add(best["output"])
        chosen[key] = picked
    return chosen


def run_extract(out: Path, pool: SampleRunner, *, seed: int = 0, max_inputs: int = 5,
                progress: bool = True) -> dict:
    seeds_folder = require_stage(out, "seeds")
    shards = stage_shards(seeds_folder)
    chunks = [[s for s in _read(p) if s["kind"] == "function"] for p in shards]
    totals = {"lines": 0, "lines_hit": 0, "branch_outcomes": 0, "branch_outcomes_hit": 0}

    def work(chunk: list[dict], stats: dict) -> list[dict]:
        candidates = []
        for seed_record in chunk:
            candidate, reason = standalone(seed_record["source"], seed_record.get("context"))
            count(stats, f"rejected_{reason}" if candidate is None else "standalone")
            if candidate is not None:
                candidates.append((seed_record["id"], candidate, seed_record))
        chosen = extract_inputs(pool, [(k, c) for k, c, _ in candidates], seed=seed, max_inputs=max_inputs, stats=stats)
        records = []
        for key, candidate, seed_record in candidates:
            runs = chosen[key]
            if not runs:
                count(stats, "rejected_no_input_runs")
                continue
            arcs = set().union(*(r["arcs"] for r in runs))
            cov = coverage_of(candidate.code, arcs)
            for name, value in cov.items():
                count(stats, f"coverage_{name}", value)
            count(stats, "functions")
            count(stats, "inputs", len(runs))
            records.append({"id": key, "code": candidate.code, "docstring": candidate.docstring,
                            "origin": seed_record["origin"], "name": seed_record["name"],
                            "source_kind": "extracted",
                            "tests": [{"call": r["call"], "output": r["output"], "value": r["value"]} for r in runs],
                            "coverage": cov})
        return records

    manifest = StageRun(out, "extract", progress).run(chunks, work, unit="functions")
    stats = manifest["stats"]
    for name in totals:
        totals[name] = stats.get(f"coverage_{name}", 0)
    manifest["coverage"] = {
        "line": totals["lines_hit"] / totals["lines"] if totals["lines"] else 0.0,
        "branch": totals["branch_outcomes_hit"] / totals["branch_outcomes"] if totals["branch_outcomes"] else 0.0,
    }
    return manifest


def _read(path: Path) -> list[dict]:
    from corpus.shards import read_jsonl

    return list(read_jsonl(path))


__all__ = ["standalone", "extract_inputs", "run_extract", "coverage_of", "call_text", "read_stage"]
