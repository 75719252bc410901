"""Differential checks of verified fixes on inputs derived from the recording.

A weak oracle checks one input, so several patches pass it and most are wrong elsewhere.
The buggy program is usually right on most inputs near the one it failed (a bug is a corner
it gets wrong), so a correct fix changes its behaviour where the oracle failed and little
anywhere else; a wrong fix that happens to pass changes much more (the idea of PATCH-SIM,
Xiong et al., ICSE 2018: behaviour similar to the original on passing inputs).

``derived_calls`` takes the calls of the edited functions that the buggy run recorded, with
literal arguments, and varies one argument at a time (shorter, reversed and single-element
sequences, neighbouring numbers, flipped booleans). ``agreement`` runs the buggy program and
every fix on them in one untraced child (``CandidateRunner.run_probe``) and counts, per fix,
the calls where the buggy program returned a value and the fix returns the same one (a
call the buggy program crashed on is no behaviour to keep).

It never decides whether a fix is verified; it only orders verified ones (``duck.repair.rank``).
"""

from __future__ import annotations

import ast
import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

from duck.session import Session

MAX_RECORDED_CALLS = 4     # distinct recorded calls per function used as seeds
MAX_DERIVED = 60           # derived calls in all


def _top_level_functions(source: str) -> dict[str, ast.FunctionDef]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    return {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and not isinstance(node, ast.AsyncFunctionDef)}


def edited_functions(original: str, patched: list[str]) -> list[str]:
    """Top-level functions of ``original`` whose lines some patched version changes."""
    functions = _top_level_functions(original)
    spans = {name: (node.lineno, node.end_lineno or node.lineno) for name, node in functions.items()}
    before = original.splitlines()
    found: dict[str, None] = {}
    for text in patched:
        matcher = difflib.SequenceMatcher(None, before, text.splitlines(), autojunk=False)
        for tag, a0, a1, _, _ in matcher.get_opcodes():
            if tag == "equal":
                continue
            first, last = a0 + 1, max(a0 + 1, a1)
            for name, (start, end) in spans.items():
                if first <= end and start <= last:
                    found[name] = None
    return list(found)


def _variants(value) -> Iterator:
    """Values near ``value``: what a bug at a corner would treat differently."""
    if isinstance(value, bool):
        yield not value
    elif isinstance(value, int):
        yield from (value + 1, value - 1, 0, -value, value * 2)
    elif isinstance(value, float):
        yield from (value + 1.0, value - 1.0, 0.0, -value, value * 2)
    elif isinstance(value, (list, tuple, str)):
        kind = type(value)
        yield value[1:]
        yield value[:-1]
        yield value[::-1]
        yield value[:0]
        for element in list(value)[:4]:
            yield kind([element]) if kind is not str else element
        if kind is not str and value:
            items = list(value)
            for index in (0, len(items) - 1):  # a neighbouring number at either end
                element = items[index]
                if isinstance(element, int) and not isinstance(element, bool):
                    for delta in (1, -1):
                        yield kind(items[:index] + [element + delta] + items[index + 1:])
        if kind is not str:
            try:
                yield kind(sorted(value))
            except TypeError:
                pass


def derived_calls(session: Session, program: str, original: str, functions: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(function, {parameter: literal repr}) calls near the recorded ones, recorded ones left out."""
    return [(name, kwargs) for name, kwargs, _ in _derive(session, program, original, functions, None)]


def _derive(session: Session, program: str, original: str, functions: list[str],
            failing: list[tuple[int, int]] | None) -> list[tuple[str, dict[str, str], bool]]:
    """``derived_calls``, each marked True when its seed was recorded inside one of the step
    ranges ``failing`` (the failing tests: there a right fix must change behaviour)."""
    defs = _top_level_functions(original)
    seeds: list[tuple[str, dict, bool]] = []
    seen_seeds: set[str] = set()
    counts: dict[str, int] = {}
    for step in range(len(session)):
        if session.kind(step) != "call":
            continue
        event = session.event(step)
        if event.file != program or event.func not in functions or event.func not in defs:
            continue
        node = defs[event.func]
        params = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
        if node.args.vararg or node.args.kwarg or set(event.changes) != set(params):
            continue
        try:
            values = {name: ast.literal_eval(event.changes[name]) for name in params}
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue  # a value that is not a literal (an object, a cut-off repr)
        key = f"{event.func}{values!r}"
        if key in seen_seeds or counts.get(event.func, 0) >= MAX_RECORDED_CALLS:
            continue
        seen_seeds.add(key)
        counts[event.func] = counts.get(event.func, 0) + 1
        seeds.append((event.func, values, any(first <= step <= last for first, last in failing or ())))
    calls: list[tuple[str, dict[str, str], bool]] = []
    seen = set(seen_seeds)
    for name, values, near in seeds:
        for param, value in values.items():
            for other in _variants(value):
                changed = dict(values, **{param: other})
                key = f"{name}{changed!r}"
                if key in seen:
                    continue
                seen.add(key)
                calls.append((name, {k: repr(v) for k, v in changed.items()}, near))
                if len(calls) >= MAX_DERIVED:
                    return calls
    return calls


@dataclass(frozen=True)
class Comparison:
    """How one fix answers the derived calls, next to the buggy program."""

    agreed: int              # calls the buggy program answered and the fix answers the same way
    answered: int            # calls the buggy program answered (returned a value)
    ignores_input: str | None = None   # the function that now gives one answer to every call, if any


def compare(runner, session: Session, program: str, original: str, patched: list[str],
            timeout_s: float = 5.0, failing: list[tuple[int, int]] | None = None) -> list[Comparison] | None:
    """For each patched source, its ``Comparison`` with the buggy program on the derived calls;
    None when nothing could be derived or the buggy program could not be probed.

    Only calls derived from calls recorded outside ``failing`` (the steps of the failing tests)
    count when there are any: those are the inputs near where the buggy program was not seen
    failing, whose answers a right fix keeps; near the failing call a right fix must change
    them. Every version runs in one probe child; when that child fails, each fix runs in its
    own (several at a time), so one that loops on a derived call costs only its own comparison
    (it then agrees on nothing)."""
    functions = edited_functions(original, patched)
    if not functions:
        return None
    marked = _derive(session, program, original, functions, failing)
    if not marked:
        return None
    calls = [(name, kwargs) for name, kwargs, _ in marked]
    counted = [not near for _, _, near in marked]
    if not any(counted):
        counted = [True] * len(marked)
    # every version in one child first; when that fails (a fix that loops on a call), each alone
    together = runner.run_probe([original, *patched], calls, timeout_s)
    if together is not None:
        buggy, answers = together[0], together[1:]
    else:
        alone = runner.run_probe([original], calls, timeout_s)
        if alone is None:
            return None
        buggy = alone[0]
        with ThreadPoolExecutor(max_workers=max(1, getattr(runner, "jobs", 1))) as pool:
            answers = [None if got is None else got[0]
                       for got in pool.map(lambda source: runner.run_probe([source], calls, timeout_s), patched)]
    # only calls the buggy program answered count: where it raised, raising is no behaviour to keep
    answered = sum(1 for theirs, count in zip(buggy, counted) if count and theirs.startswith("= "))
    compared = []
    for mine in answers:
        if mine is None:  # it did not answer in time: no behaviour of the buggy program kept
            compared.append(Comparison(0, answered))
            continue
        agreed = sum(1 for got, theirs, count in zip(mine, buggy, counted)
                     if count and got == theirs and theirs.startswith("= "))
        compared.append(Comparison(agreed, answered, _constant_function(calls, buggy, mine)))
    return compared


def _constant_function(calls: list[tuple[str, dict[str, str]]], buggy: list[str], fixed: list[str]) -> str | None:
    """A function that answers every derived call (three or more) the same way where the buggy
    program gave different answers: it no longer depends on its input."""
    before: dict[str, set[str]] = {}
    after: dict[str, list[str]] = {}
    for (name, _), theirs, mine in zip(calls, buggy, fixed):
        if theirs.startswith("= "):
            before.setdefault(name, set()).add(theirs)
        if mine.startswith("= "):
            after.setdefault(name, []).append(mine)
    for name, answers in after.items():
        if len(answers) >= 3 and len(set(answers)) == 1 and len(before.get(name, ())) > 1:
            return name
    return None


def agreement(runner, session: Session, program: str, original: str, patched: list[str],
              timeout_s: float = 10.0) -> list[int] | None:
    """For each patched source, how many derived calls give the buggy program's result; None
    when nothing could be derived or the probe failed."""
    compared = compare(runner, session, program, original, patched, timeout_s)
    return None if compared is None else [c.agreed for c in compared]
