"""Ranking verified fixes: the smallest fix that keeps the most of the program's behaviour wins.

A weak oracle (one assert, one expected line) lets several patches through; most of them are
wrong on other inputs. What tells them apart, in this order:

1. ``size``: lines the fix touches, a replaced line once (``lines_touched``: a one-line
   change beats an inserted two-line base case);
2. ``argument_name_gain``: how many more call arguments are named like the parameter they
   fill (``percent(whole, part)`` for ``def percent(part, whole)`` is a swap waiting to be
   undone: the name-based bug signal of DeepBugs);
3. ``agreement``: on calls derived from the recorded ones (``duck.repair.probe``), how often
   the fix answers like the buggy program: a correct fix changes the corner the bug got
   wrong, a wrong one that happens to pass changes much more;
4. ``behaviour_distance``: how many recorded events of the buggy run the fixed run does not
   share, aligned by line and values (difflib over the two recordings). A fix that changes one
   loop iteration beats one that changes three; the calls that went right keep their
   values, so the un-failing part of the run counts for the fix that leaves it alone;
5. the number of changed characters, then the order the search found them in.

This module compares source texts and recorded sessions; it runs nothing.
"""

from __future__ import annotations

import ast
import difflib
from typing import Callable

from duck.session import Session

MAX_EVENTS = 5000  # events of each run compared (the start of the run; enough to rank small fixes)


def argument_names_agreeing(source: str) -> int:
    """Positional arguments, over every call of a function the source defines, whose name is
    the parameter they are passed to (``f(a, b)`` for ``def f(a, b)`` counts 2)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    params: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params[node.name] = [a.arg for a in node.args.posonlyargs + node.args.args]
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in params:
            names = params[node.func.id]
            for index, arg in enumerate(node.args):
                if index < len(names) and isinstance(arg, ast.Name) and arg.id == names[index]:
                    count += 1
    return count


def argument_name_gain(before: str, after: str) -> int:
    return argument_names_agreeing(after) - argument_names_agreeing(before)


def _keys(session: Session, relative: Callable[[str], str], program: str, mapping: dict[int, int] | None) -> list:
    keys = []
    for step in range(min(len(session), MAX_EVENTS)):
        event = session.event(step)
        file = relative(event.file)
        line = event.line
        if mapping is not None and file == program:
            line = mapping.get(line, -line)
        keys.append((file, line, event.kind, tuple(sorted(event.changes.items())),
                     event.value if event.kind == "return" else None, event.stdout))
    return keys


def behaviour_distance(buggy: Session, fixed: Session, *, buggy_relative: Callable[[str], str],
                       fixed_relative: Callable[[str], str], program: str, mapping: dict[int, int]) -> int:
    """Recorded events of either run that the other does not share (0: the same run)."""
    a = _keys(buggy, buggy_relative, program, None)
    b = _keys(fixed, fixed_relative, program, mapping)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    shared = sum(block.size for block in matcher.get_matching_blocks())
    return len(a) + len(b) - 2 * shared


def lines_touched(before: str, after: str) -> int:
    """Lines a patch touches: per changed block, the larger of lines removed and lines added."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    return sum(max(a1 - a0, b1 - b0) for tag, a0, a1, b0, b1 in matcher.get_opcodes() if tag != "equal")


def changed_chars(before: str, after: str) -> int:
    """Characters in the changed middle of the text (after the common prefix and suffix)."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    return max(len(before), len(after)) - prefix - suffix


def rank_key(fix, order: int) -> tuple:
    """Sort key of a verified ``duck.repair.search.Fix``: best first (see the module docstring)."""
    return (fix.size, -fix.name_gain, -fix.agreement, fix.behaviour_distance,
            changed_chars(fix.original_source, fix.patched_source), order)
