"""Turning a safe repr back into a value: ``revive(text)`` and the stand-ins it returns.

``revive`` reads the text ``duck.trace.saferepr.safe_repr`` writes: plain literals become
values, an object written structurally (``Node(value=3, next=None)``) becomes a ``Structure``,
anything that stands for no plain value (``<function f>``, ``[...]``) an ``Opaque``, and a repr
the recording cut short raises ``CutShort`` (or, with ``partial``, gives what it could read).
The session, the watches and the UI use it; the recorder never does, which is why it lives
apart from ``saferepr`` (its regular expressions and ``ast`` stay out of the recording child's
start-up). ``saferepr`` still offers these names. Stdlib only.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass


@dataclass(frozen=True, eq=True)
class Structure:
    """An object recorded structurally (``Node(value=3, next=None)``): its type name and revived attributes.

    ``cut`` is true when the recording cut the repr short inside it (more attributes may exist).
    Its ``repr`` is the structural form again.
    """

    type_name: str
    attrs: dict
    cut: bool = False

    __hash__ = None  # type: ignore[assignment] - holds a dict, like the dict it stands for

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.attrs.items())
        if self.cut:
            inner = f"{inner}, ..." if inner else "..."
        return f"{self.type_name}({inner})"


@dataclass(frozen=True)
class Opaque:
    """A part of a safe repr that stands for no plain value (``<function f>``, ``Decimal('1.5')``, ``[...]``, ``Node(...)``)."""

    text: str

    def __repr__(self) -> str:
        return self.text


_CUT_MARK = re.compile(r"\.\.\.(?:<\+\d+ chars>)?\Z")
_NUMBER_PART = r"(?:\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)"
_NUMBER = re.compile(rf"-?{_NUMBER_PART}(?:[-+]{_NUMBER_PART}j|j)?(?![\w.])")
_NAME = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*")
_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)=(?!=)")
_NAME_CUT = re.compile(r"\s*[A-Za-z_]\w*")
_CONSTANTS = {"None": None, "True": True, "False": False, "Ellipsis": ..., "NotImplemented": NotImplemented}


class _End(Exception):
    """The text ended inside a value (the recording cut it)."""


class CutShort(ValueError):
    """The safe repr was cut short by the recording's ``repr_limit`` where its value was needed whole."""


class _Reviver:
    """A small recursive-descent parser of safe reprs (which ``ast.literal_eval`` cannot read: objects, ``<...>``, cuts)."""

    def __init__(self, text: str, was_cut: bool) -> None:
        self.s = text
        self.i = 0
        self.cut = False
        self.was_cut = was_cut  # the text ended in the cut marker: its last token may be incomplete

    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1
        if self.i >= len(self.s):
            raise _End()
        return self.s[self.i]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.i}")
        self.i += 1

    def value(self):
        c = self.peek()
        start = self.i
        if c == "[":
            return list(self.items("[", "]"))
        if c == "(":
            items, trailing = self.items("(", ")", with_trailing=True)
            return items[0] if len(items) == 1 and not trailing else tuple(items)
        if c == "{":
            return self.braces()
        if c == "<":
            return self.angle()
        if c in "'\"" or (c in "bB" and self.s[self.i + 1:self.i + 2] in ("'", '"')):
            return self.string()
        if self.s.startswith("...", self.i):
            self.i += 3
            return Opaque("...")
        match = _NUMBER.match(self.s, self.i)
        if match:
            self.i = match.end()
            if self.i >= len(self.s) and self.was_cut:
                raise _End()  # a number at the very end may have lost digits to the cut
            text = match.group().replace("_", "")
            if "j" in text:
                return complex(text)
            if any(ch in text for ch in ".eEna"):
                return float(text)
            return int(text)
        match = _NAME.match(self.s, self.i)
        if not match:
            raise ValueError(f"unexpected {c!r} at {self.i}")
        self.i = match.end()
        name = match.group()
        if self.i < len(self.s) and self.s[self.i] == "(":
            return self.call(name, start)
        if self.i >= len(self.s) and self.was_cut:
            raise _End()
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        raise ValueError(f"unknown name {name!r}")

    def items(self, open_: str, close: str, with_trailing: bool = False):
        self.expect(open_)
        out: list = []
        trailing = False
        try:
            while self.peek() != close:
                out.append(self.value())
                trailing = False
                if self.peek() == ",":
                    self.i += 1
                    trailing = True
                elif self.peek() != close:
                    raise ValueError(f"expected ',' or {close!r} at {self.i}")
            self.i += 1
        except _End:
            self.cut, self.i = True, len(self.s)
        return (out, trailing) if with_trailing else out

    def braces(self):
        self.expect("{")
        pairs: list = []
        items: list = []
        try:
            while self.peek() != "}":
                item = self.value()
                if self.peek() == ":":
                    self.i += 1
                    pairs.append((item, self.value()))
                else:
                    items.append(item)
                if self.peek() == ",":
                    self.i += 1
                elif self.peek() != "}":
                    raise ValueError(f"expected ',' or '}}' at {self.i}")
            self.i += 1
        except _End:
            self.cut, self.i = True, len(self.s)
        if items and not pairs:
            return set(items)
        if items:
            raise ValueError("a mix of set items and dict pairs")
        return dict(pairs)

    def angle(self) -> Opaque:
        depth = 0
        for j in range(self.i, len(self.s)):
            if self.s[j] == "<":
                depth += 1
            elif self.s[j] == ">":
                depth -= 1
                if depth == 0:
                    text = self.s[self.i:j + 1]
                    self.i = j + 1
                    return Opaque(text)
        raise _End()

    def string(self):
        start = self.i
        j = self.i + (1 if self.s[self.i] in "bB" else 0)
        quote = self.s[j]
        j += 1
        while j < len(self.s):
            if self.s[j] == "\\":
                j += 2
                continue
            if self.s[j] == quote:
                self.i = j + 1
                return ast.literal_eval(self.s[start:self.i])
            j += 1
        raise _End()

    def call(self, name: str, start: int):
        self.i += 1  # the "("
        if self.s.startswith("...)", self.i):  # the object inside itself
            self.i += 4
            return Opaque(f"{name}(...)")
        attrs: dict = {}
        if self.peek() == ")" or _KEYWORD.match(self.s, self.i):
            try:
                while self.peek() != ")":
                    match = _KEYWORD.match(self.s, self.i)
                    if not match:
                        if _NAME_CUT.fullmatch(self.s, self.i):  # the cut fell inside an attribute's name
                            raise _End()
                        raise ValueError(f"expected name= at {self.i}")
                    self.i = match.end()
                    attrs[match.group(1)] = self.value()
                    if self.peek() == ",":
                        self.i += 1
                    elif self.peek() != ")":
                        raise ValueError(f"expected ',' or ')' at {self.i}")
                self.i += 1
            except _End:
                self.cut, self.i = True, len(self.s)
                return Structure(name, attrs, cut=True)
            return Structure(name, attrs)
        if name == "frozenset" and self.peek() == "{":
            items = self.braces()
            self.expect(")")
            if isinstance(items, set):
                return frozenset(items)
            raise ValueError("frozenset of a dict")
        self.skip_to_close()
        return Opaque(self.s[start:self.i])

    def skip_to_close(self) -> None:
        """Past the ``)`` that closes the call just opened, over nested brackets and strings."""
        depth = 1
        while depth:
            c = self.peek()
            if c in "'\"" or (c in "bB" and self.s[self.i + 1:self.i + 2] in ("'", '"')):
                self.string()
                continue
            self.i += 1
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1


def revive(text: str, partial: bool = False):
    """The value a safe repr stands for: plain literals as themselves, objects as ``Structure``.

    Parts that stand for no plain value come back as ``Opaque``. A repr the recording cut
    short (it ends in ``...`` or ``...<+N chars>``) raises ``CutShort`` unless ``partial``;
    with ``partial`` the result is ``(value, complete)``, the value holding every item that
    was recorded whole. Raises ``CutShort`` (a ``ValueError``) when nothing whole is left, and
    ``ValueError`` for text that is not a safe repr.
    """
    if type(text) is not str or not text:
        raise ValueError("not a safe repr")
    match = _CUT_MARK.search(text)
    body = text[:match.start()] if match else text
    reviver = _Reviver(body, match is not None)
    try:
        value = reviver.value()
    except _End:
        if match is None:
            raise ValueError("not a safe repr: it ends too early") from None
        raise CutShort("cut short in the recording") from None
    except (SyntaxError, MemoryError, RecursionError, IndexError) as exc:
        raise ValueError(f"not a safe repr: {exc}") from None
    if reviver.i != len(body) and body[reviver.i:].strip():
        raise ValueError(f"unexpected text at {reviver.i}")
    complete = not (match or reviver.cut)
    if partial:
        return value, complete
    if not complete:
        raise CutShort("cut short in the recording")
    return value
