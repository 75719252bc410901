"""Concrete value claims in a model's monologue, and checking them against observed values.

A monologue says things like "`total` becomes 7", "total = 7", "the function returns [1, 2]"
or "i == 4 when the loop ends". ``extract_claims`` finds such claims (only those whose value
is a Python literal: "a list of the even numbers" is not concrete), and ``check`` compares
each with what a run actually did: the values each variable took and the values returned.
A claim holds when the variable took that value at some point, is contradicted when the
variable was observed but never had that value (the verdict carries the values it did have),
and is unverifiable when nothing about the name was observed. The final ``[ANSWER]`` is
checked against the true answer when one is given.

Stdlib only, working on plain data (name -> observed values, returned values), so the corpus
can reject bad monologues offline and duck can check a live explanation
(``duck.grounding`` adapts a recorded session). It never changes the text it reads.
"""


from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from models.parse import answer_text, split_assertion

HELD, CONTRADICTED, UNVERIFIABLE = "held", "contradicted", "unverifiable"

_NAME = r"`?(?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\[[^\]\n]{1,20}\])?)`?"
_REST = r"(?=(?P<value>[^\n]+))"
_ASSIGN = re.compile(
    _NAME
    + r"\s+(?:becomes|is now|is updated to|is set to|gets updated to|gets|is assigned|is assigned to|now holds|holds|takes the value|changes to|will be|remains|stays|is still|is)\s+"
    + _REST,
    re.MULTILINE,
)
_EQUALS = re.compile(r"(?<![\w.\[=!<>])" + _NAME + r"\s*(?P<op>==|=)\s*" + _REST, re.MULTILINE)
_RETURNS = re.compile(
    r"(?:returns?|return value is|returned value is|returning|the result is|evaluates to|outputs?)\s+"
    r"(?:the value\s+|the list\s+|the string\s+|the tuple\s+|the dict(?:ionary)?\s+)?" + _REST,
    re.IGNORECASE | re.MULTILINE,
)
#: where a stated value may end in prose: punctuation, a clause word, an opening parenthesis
_BOUNDARY = re.compile(r"[`)]|[,;:](?=\s|$)|\.(?=\s|$)|\s(?:and|when|after|before|at|since|because|so|which|as|for|in|on|now|then)\b|\s\(|\s*$")
_KEYWORDS = {"the", "it", "this", "that", "which", "value", "result", "output", "function", "return",
             "and", "or", "not", "if", "else", "for", "while", "in", "is", "True", "False", "None", "assert"}


@dataclass(frozen=True)
class Claim:
    """One concrete claim: ``name`` took ``value`` (``name`` is None for a claim about a return)."""

    kind: str  # "value", "return" or "answer"
    name: str | None
    value: str
    text: str  # the words of the monologue that made it
    start: int  # offset in the monologue


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    status: str  # held / contradicted / unverifiable
    actual: tuple[str, ...] = ()  # what the recording shows, for a contradicted claim

    def describe(self) -> str:
        subject = (f"`{self.claim.name}`" if self.claim.name
                   else "the [ANSWER]" if self.claim.kind == "answer" else "the return value")
        if self.status == HELD:
            return f"held: {subject} = {self.claim.value}"
        if self.status == CONTRADICTED:
            actual = ", ".join(self.actual[:6]) + (" ..." if len(self.actual) > 6 else "")
            return f"contradicted: {subject} = {self.claim.value}, but the run had {actual}"
        return f"unverifiable: {subject} = {self.claim.value}"


@dataclass
class GroundingReport:
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def held(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == HELD]

    @property
    def contradicted(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == CONTRADICTED]

    @property
    def unverifiable(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == UNVERIFIABLE]

    @property
    def checked(self) -> int:
        return len(self.held) + len(self.contradicted)

    @property
    def ok(self) -> bool:
        """No claim was contradicted (what the corpus keeps)."""
        return not self.contradicted

    def summary(self) -> str:
        if not self.verdicts:
            return "grounding: the explanation made no concrete value claims to check"
        line = f"grounding: {self.checked} claim{'s' if self.checked != 1 else ''} checked against the recording, {len(self.held)} held"
        if self.contradicted:
            line += f", {len(self.contradicted)} contradicted"
        if self.unverifiable:
            line += f" ({len(self.unverifiable)} not checkable)"
        return line

    def render(self) -> str:
        lines = [self.summary()]
        lines += ["  " + v.describe() for v in self.contradicted]
        return "\n".join(lines)


# ---- extraction ----------------------------------------------------------------------------


def _clean_value(raw: str) -> tuple[str, int] | None:
    """The literal a claim states at the start of ``raw`` and how many characters it used, or None.

    ``raw`` is the rest of the line after "becomes" / "=" / "returns". A back-quoted value is
    taken whole (``3 + 4 = 7`` counts as 7); otherwise the longest prefix that ends at a
    boundary and parses as a literal wins, so ``[1, 2], then ...`` gives ``[1, 2]``.
    """
    text = raw
    if text.startswith("`"):
        close = text.find("`", 1)
        if close < 0:
            return None
        inner = text[1:close].strip()
        if "=" in inner and "==" not in inner:
            inner = inner.rsplit("=", 1)[1].strip()
        return (inner, close + 1) if inner and _literal(inner) is not _NOT_LITERAL else None
    cuts = sorted({m.start() for m in _BOUNDARY.finditer(text)} | {len(text)}, reverse=True)
    for cut in cuts:
        candidate = text[:cut].strip().rstrip(".,;:").rstrip()  # "6," is prose, not the tuple (6,)
        if candidate and _literal(candidate) is not _NOT_LITERAL:
            return candidate, cut
    return None


_NOT_LITERAL = object()


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def extract_claims(text: str) -> list[Claim]:
    """Every concrete value claim in ``text``, in order; code blocks and the ``[PYTHON]`` echo are skipped."""
    masked = _mask_code(text)
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, name: str | None, match: re.Match) -> None:
        if any(a <= match.start() < b for a, b in taken):
            return
        if name is not None:
            base = name.split("[", 1)[0]
            if base in _KEYWORDS:
                return
        cleaned = _clean_value(match.group("value"))
        if cleaned is None:
            return
        value, used = cleaned
        end = match.start("value") + used
        taken.append((match.start(), end))
        claims.append(Claim(kind, name, value, text[match.start():end].strip(), match.start()))

    # the final answer is checked separately; keep it out of the prose claims
    answer_at = masked.rfind("[ANSWER]")
    prose = masked if answer_at < 0 else masked[:answer_at]
    for match in _RETURNS.finditer(prose):
        add("return", None, match)
    for match in _ASSIGN.finditer(prose):
        add("value", match.group("name"), match)
    for match in _EQUALS.finditer(prose):
        add("value", match.group("name"), match)
    answer = answer_text(text)
    if answer:
        parts = split_assertion(answer)
        if parts and parts.right:
            at = text.rfind("[ANSWER]")
            claims.append(Claim("answer", None, parts.right, answer, at))
    claims.sort(key=lambda c: c.start)
    return claims


def _mask_code(text: str) -> str:
    """Blank out fenced code and [PYTHON] blocks (same length, so offsets stay valid)."""
    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    text = re.sub(r"```.*?(```|$)", blank, text, flags=re.DOTALL)
    text = re.sub(r"\[PYTHON\].*?(\[/PYTHON\]|$)", blank, text, flags=re.DOTALL)
    return text


# ---- checking ------------------------------------------------------------------------------


def same_value(claimed: str, observed: str) -> bool:
    """Equal as Python values when both are literals (``[1,2]`` == ``[1, 2]``), else as text."""
    a, b = _literal(claimed), _literal(observed)
    if a is not _NOT_LITERAL and b is not _NOT_LITERAL:
        try:
            return type(a) is type(b) and a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                                      and not isinstance(a, bool) and not isinstance(b, bool) and a == b)
        except Exception:  # comparing exotic literals
            return False
    return " ".join(claimed.split()) == " ".join(observed.split())


def _lookup(name: str, observed: Mapping[str, Sequence[str]]) -> list[str] | None:
    if name in observed:
        return list(observed[name])
    # "xs[2] becomes 5": check the element against every recorded value of xs
    if "[" in name:
        base, index = name.split("[", 1)
        index_value = _literal(index.rstrip("]"))
        if base in observed and index_value is not _NOT_LITERAL:
            elements = []
            for value in observed[base]:
                container = _literal(value)
                try:
                    elements.append(repr(container[index_value]))
                except Exception:
                    continue
            return elements or None
    return None


def check(
    claims: Sequence[Claim],
    observed: Mapping[str, Sequence[str]],
    returns: Sequence[str] = (),
    expected: str | None = None,
    raised: str | None = None,
) -> GroundingReport:
    """Judge each claim against observed values (name -> values taken), returned values and the
    true answer of the window (``expected``, the right-hand side of a correct assertion; or
    ``raised``, "ValueError: ...", when the call raised, so any answered value is wrong)."""
    report = GroundingReport()
    for claim in claims:
        if claim.kind == "answer" and raised is not None:
            report.verdicts.append(Verdict(claim, CONTRADICTED, (f"an exception ({raised})",)))
            continue
        if claim.kind == "answer":
            pool = [expected] if expected is not None else []
        elif claim.kind == "return":
            pool = list(returns)
        else:
            pool = _lookup(claim.name or "", observed) or []
        if not pool:
            report.verdicts.append(Verdict(claim, UNVERIFIABLE))
        elif any(same_value(claim.value, value) for value in pool):
            report.verdicts.append(Verdict(claim, HELD))
        else:
            report.verdicts.append(Verdict(claim, CONTRADICTED, tuple(pool)))
    return report


def check_text(
    text: str,
    observed: Mapping[str, Sequence[str]],
    returns: Sequence[str] = (),
    expected: str | None = None,
    raised: str | None = None,
) -> GroundingReport:
    """Extract and check in one call: the offline entry point (the corpus uses it)."""
    return check(extract_claims(text), observed, returns, expected, raised)


def observations_from_events(events: Sequence[Mapping]) -> tuple[dict[str, list[str]], list[str]]:
    """name -> values and returned values from trace-format event dicts (e.g. a ``CallRecording``)."""
    observed: dict[str, list[str]] = {}
    returns: list[str] = []
    for event in events:
        for name, value in (event.get("changes") or {}).items():
            values = observed.setdefault(name, [])
            if value not in values:
                values.append(value)
        if event.get("event") == "return" and event.get("value") is not None:
            returns.append(event["value"])
    return observed, returns


def check_recording(text: str, recording) -> GroundingReport:
    """Check a monologue about one traced call (``duck.trace.recorder.CallRecording``)."""
    observed, returns = observations_from_events(recording.events)
    exception = getattr(recording, "exception", None)
    if exception:
        kind, message = (exception[0], exception[1]) if isinstance(exception, (tuple, list)) else (exception, "")
        return check_text(text, observed, returns, None, f"{kind}: {message}" if message else str(kind))
    return check_text(text, observed, returns, getattr(recording, "value", None))
