"""Reading what a SemCoder-style model wrote: the ``[ANSWER]`` assertion, monologue sections
and ``[Refined]`` code.

Model output is often truncated (a token limit), malformed (a missing closing tag, an
answer without ``assert``) or repeated (a model that restates the question). Every parser
here takes whatever text it is given, never raises on bad input, and returns ``None`` or an
empty field where the text does not hold what was asked for. Scoring follows CRUXEval: the
answer is the text after the *last* ``[ANSWER]``, ``assert``/``==`` are split off, and an
output prediction that contains the call itself does not count.

Stdlib only. This module does not execute answers (the evaluator does) and does not build
prompts (``models.prompts``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

ANSWER_OPEN = "[ANSWER]"
ANSWER_CLOSE = "[/ANSWER]"
MONOLOGUE_OPEN = "[MONOLOGUE]"
MONOLOGUE_CLOSE = "[/MONOLOGUE]"
REFINED_OPEN = "[Refined]"
REFINED_CLOSE = "[/Refined]"

#: Section keys and the heading words that select them (matched case-insensitively at the
#: start of a ``###`` heading, so "### Execution Simulation:" and "### Execution simulation" both count).
SECTION_HEADINGS: dict[str, tuple[str, ...]] = {
    "understanding": ("understanding the function", "understanding the code", "understanding"),
    "properties": ("key properties and constraints", "key properties"),
    "simulation": ("execution simulation", "simulation"),
    "reverse": ("reverse deduction",),
    "conclusion": ("conclusion",),
    "root_cause": ("root cause analysis", "root cause"),
    "fixing": ("bug fixing", "fixing the bug", "bug fix", "fixed"),
}
_HEADING = re.compile(r"^#{2,4}\s*(.+?)\s*$", re.MULTILINE)


def answer_text(text: str) -> str | None:
    """The text after the last ``[ANSWER]``, up to ``[/ANSWER]`` when present, stripped.

    ``None`` when the output never opened an answer. A truncated answer (no closing tag)
    is returned as far as it goes.
    """
    at = text.rfind(ANSWER_OPEN)
    if at < 0:
        return None
    body = text[at + len(ANSWER_OPEN):]
    end = body.find(ANSWER_CLOSE)
    if end >= 0:
        body = body[:end]
    body = body.strip()
    # a model sometimes wraps the assertion in a code fence
    body = re.sub(r"^```(?:python)?\s*|\s*```$", "", body).strip()
    return body or None


@dataclass(frozen=True)
class Assertion:
    """``assert left == right`` split at its top-level ``==``; ``right`` is empty without one."""

    left: str
    right: str


def split_assertion(answer: str) -> Assertion | None:
    """Split an answer such as ``assert f(1) == 2`` into its two sides.

    Accepts a missing ``assert``, several lines (the first assertion-looking line wins) and
    values that themselves contain ``==`` inside strings or brackets.
    """
    if not answer or not answer.strip():
        return None
    lines = [ln.strip() for ln in answer.strip().splitlines() if ln.strip()]
    candidates = [ln for ln in lines if ln.startswith("assert ")] or lines[:1]
    statement = candidates[0]
    if statement.startswith("assert "):
        statement = statement[len("assert "):].strip()
    statement = statement.rstrip(";").strip()
    try:
        tree = ast.parse(statement, mode="eval").body
    except SyntaxError:
        tree = None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq):
        left = ast.get_source_segment(statement, tree.left) or ""
        right = ast.get_source_segment(statement, tree.comparators[0]) or ""
        return Assertion(left.strip(), right.strip())
    # not valid Python (truncated, or the model used odd syntax): split at the first
    # "==" that is outside brackets and quotes
    at = _top_level_eq(statement)
    if at < 0:
        return Assertion(statement, "")
    return Assertion(statement[:at].strip(), statement[at + 2:].strip())


def _top_level_eq(s: str) -> int:
    depth, quote, i = 0, "", 0
    while i < len(s):
        c = s[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and s.startswith("==", i):
            return i
        i += 1
    return -1


def forward_answer(text: str, func: str = "f") -> str | None:
    """The predicted output of an output-prediction answer, or ``None``.

    An answer whose predicted output still calls ``func`` (``assert f(1) == f(1)``) does not
    count: CRUXEval's rule against answering with the call itself.
    """
    body = answer_text(text)
    if body is None:
        return None
    parts = split_assertion(body)
    if parts is None:
        return None
    output = parts.right if parts.right else (parts.left if not _calls(parts.left, func) else "")
    if not output or _calls(output, func):
        return None
    return output


def backward_answer(text: str, func: str = "f") -> str | None:
    """The call ``f(<input>)`` of an input-deduction answer (the left side), or ``None``."""
    body = answer_text(text)
    if body is None:
        return None
    parts = split_assertion(body)
    if parts is None or not _calls(parts.left, func):
        return None
    return parts.left


def call_arguments(call: str, func: str = "f") -> str | None:
    """``"f(1, b=2)"`` -> ``"1, b=2"``: the argument list of a call expression, as written."""
    try:
        node = ast.parse(call.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == func):
        return None
    start = call.find("(")
    end = call.rstrip().rfind(")")
    return call[start + 1:end].strip()


def _calls(expr: str, func: str) -> bool:
    """Whether ``expr`` calls ``func`` (a call inside a string literal does not count)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return re.search(rf"(?<![\w.]){re.escape(func)}\s*\(", expr) is not None
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func for n in ast.walk(tree))


@dataclass
class Monologue:
    """A monologue split into its parts. ``sections`` maps a key of ``SECTION_HEADINGS`` (or
    the heading's own text, lowercased, for one it does not know) to the section's body."""

    sections: dict[str, str] = field(default_factory=dict)
    preamble: str = ""
    answer: str | None = None
    refined: str | None = None
    closed: bool = False  # the model wrote [/MONOLOGUE]
    complete: bool = False  # and a closed [ANSWER] (or [/Refined]) after it

    def section(self, key: str) -> str:
        return self.sections.get(key, "")


def section_key(heading: str) -> str:
    text = heading.strip().rstrip(":").strip().lower()
    for key, starts in SECTION_HEADINGS.items():
        if any(text.startswith(s) for s in starts):
            return key
    return text


def parse_monologue(text: str) -> Monologue:
    """Split a model's monologue (with or without the ``[MONOLOGUE]`` tags) into sections."""
    body = text
    open_at = body.find(MONOLOGUE_OPEN)
    if open_at >= 0:
        body = body[open_at + len(MONOLOGUE_OPEN):]
    close_at = body.find(MONOLOGUE_CLOSE)
    closed = close_at >= 0
    tail = ""
    if closed:
        body, tail = body[:close_at], body[close_at + len(MONOLOGUE_CLOSE):]
    else:
        # a monologue that never closed may still run into an answer or refined block
        cut = min((i for i in (body.find(ANSWER_OPEN), body.find(REFINED_OPEN)) if i >= 0), default=-1)
        if cut >= 0:
            body, tail = body[:cut], body[cut:]
    result = Monologue(closed=closed)
    headings = list(_HEADING.finditer(body))
    result.preamble = (body[: headings[0].start()] if headings else body).strip()
    for n, match in enumerate(headings):
        end = headings[n + 1].start() if n + 1 < len(headings) else len(body)
        key = section_key(match.group(1))
        content = body[match.end():end].strip()
        result.sections[key] = (result.sections[key] + "\n\n" + content).strip() if key in result.sections else content
    rest = tail if (closed or tail) else text
    result.answer = answer_text(rest) if ANSWER_OPEN in rest else None
    result.refined = refined_code(rest) if REFINED_OPEN in rest else None
    result.complete = closed and (
        (ANSWER_CLOSE in rest and result.answer is not None)
        or (REFINED_CLOSE in rest and result.refined is not None)
    )
    return result


def refined_code(text: str) -> str | None:
    """The code inside the last ``[Refined]`` block: the fenced python block if there is one.

    A missing ``[/Refined]`` or closing fence (truncation) still yields the code written so
    far; ``None`` when there is no ``[Refined]`` or it holds no code.
    """
    at = text.rfind(REFINED_OPEN)
    if at < 0:
        return None
    body = text[at + len(REFINED_OPEN):]
    end = body.find(REFINED_CLOSE)
    if end >= 0:
        body = body[:end]
    fence = re.search(r"```[ \t]*(?:python|py)?[ \t]*\n", body)
    if fence:
        code = body[fence.end():]
        close = code.find("```")
        if close >= 0:
            code = code[:close]
    else:
        code = body
    code = code.strip("\n")
    return code if code.strip() else None
