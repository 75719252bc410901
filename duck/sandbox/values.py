"""Values across the sandbox boundary as type-tagged literals, never as reprs.

``encode(value)`` runs inside the sandbox: it walks a value by its *exact* built-in type (None,
bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict) without calling any
of its methods, so an object with a lying ``__repr__`` or an always-true ``__eq__`` cannot pass
for a literal: anything else becomes ``["opaque", type name]``. ``decode(tree)`` runs in duck's
process and gives back plain Python values (an ``Opaque`` for the rest), which the caller
compares with what it expected (``digest(value)`` stands for a value too large to send).
``literal_text(tree)`` writes the value as Python source
(``repr`` of the decoded literal) for training rows and reports. ``literal_call(text)`` reads
a call written with literal arguments only (``f(1, 'a', key=[2],)``) in duck's process, so a
predicted or generated input travels to the sandbox as values, never as code.

Not a serializer for arbitrary objects and not a repr for display (``duck.trace.saferepr`` is).
"""

from __future__ import annotations

import ast
import math

#: nesting and size bounds: a deeper or larger value is opaque (and so never equal to a literal)
MAX_DEPTH = 100
MAX_ITEMS = 100_000
_TOO_LARGE = ["opaque", "<too large>"]


class Opaque:
    """A value that was not a plain literal in the sandbox (equal only to an Opaque of the same type name)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(("Opaque", self.type_name))

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def _type_name(value) -> str:
    kind = type(value)
    try:
        module = type.__getattribute__(kind, "__module__")
        name = type.__getattribute__(kind, "__qualname__")
    except Exception:  # noqa: BLE001 - a metaclass may do anything
        return "object"
    if not isinstance(name, str):
        return "object"
    return name if module in ("builtins", "__main__") or not isinstance(module, str) else f"{module}.{name}"


def encode(value, _depth: int = 0, _seen: set | None = None, _budget: list | None = None):
    """The tagged tree of ``value`` (JSON-ready); see the module docstring."""
    budget = _budget if _budget is not None else [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0:
        return _TOO_LARGE  # the rest of an oversized value is not walked
    kind = type(value)
    if value is None:
        return ["None"]
    if kind is bool:
        return ["bool", value]
    if kind is int:
        try:
            return ["int", int.__repr__(value)]
        except ValueError:  # beyond the interpreter's decimal-digit limit: hexadecimal has none
            return ["int", int.__format__(value, "#x")]
    if kind is float:
        return ["float", float.__repr__(value)]
    if kind is complex:
        return ["complex", [float.__repr__(value.real), float.__repr__(value.imag)]]
    if kind is str:
        return ["str", value]
    if kind is bytes:
        return ["bytes", value.hex()]
    if kind not in (list, tuple, set, frozenset, dict) or _depth >= MAX_DEPTH or budget[0] < 0:
        return ["opaque", _type_name(value)]
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return ["opaque", "<cycle>"]
    seen.add(id(value))
    try:
        if kind is dict:
            items = [[encode(k, _depth + 1, seen, budget), encode(v, _depth + 1, seen, budget)]
                     for k, v in dict.items(value)]
            return ["dict", items]
        iterate = {list: list.__iter__, tuple: tuple.__iter__, set: set.__iter__, frozenset: frozenset.__iter__}[kind]
        return [kind.__name__, [encode(item, _depth + 1, seen, budget) for item in iterate(value)]]
    finally:
        seen.discard(id(value))


def digest(value) -> str:
    """SHA-256 of ``json.dumps(encode(value))`` with no size bound, computed as a stream (no tree
    is built), for outputs too large to send: two equal values of the same types have equal
    digests. Like ``encode``, it never calls a method of the value."""
    import hashlib
    import json

    h = hashlib.sha256()
    parts: list[bytes] = []
    dumps = json.dumps

    def scalar(item, kind) -> bytes:
        if kind is float:
            return b'["float", "%s"]' % float.__repr__(item).encode()
        if kind is int:
            return b'["int", "%s"]' % encode(item)[1].encode()
        if kind is str:
            return b'["str", %s]' % dumps(item).encode()
        return dumps(encode(item)).encode()

    def walk(item, depth: int, seen: set) -> None:
        kind = type(item)
        if kind not in (list, tuple, set, frozenset, dict):
            parts.append(scalar(item, kind))
        elif depth >= MAX_DEPTH or id(item) in seen:
            parts.append(dumps(["opaque", _type_name(item) if depth >= MAX_DEPTH else "<cycle>"]).encode())
        else:
            seen.add(id(item))
            parts.append(b'["%s", [' % kind.__name__.encode())
            if kind is dict:
                for index, (k, v) in enumerate(dict.items(item)):
                    parts.append(b", [" if index else b"[")
                    walk(k, depth + 1, seen)
                    parts.append(b", ")
                    walk(v, depth + 1, seen)
                    parts.append(b"]")
            else:
                iterate = {list: list.__iter__, tuple: tuple.__iter__, set: set.__iter__,
                           frozenset: frozenset.__iter__}[kind]
                elements = list(iterate(item))
                flat = _flat(elements)
                if flat is not None:
                    parts.append(flat.encode())
                else:
                    for index, element in enumerate(elements):
                        if index:
                            parts.append(b", ")
                        walk(element, depth + 1, seen)
            parts.append(b"]]")
            seen.discard(id(item))
        if len(parts) > 4096:
            h.update(b"".join(parts))
            parts.clear()

    walk(value, 0, set())
    h.update(b"".join(parts))
    return h.hexdigest()


def _flat(elements: list) -> str | None:
    """The JSON of a run of same-typed floats, ints or strs, written by C loops; None otherwise."""
    from json.encoder import encode_basestring_ascii

    kinds = set(map(type, elements))
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    try:
        if kind is float:
            return '["float", "' + '"], ["float", "'.join(map(float.__repr__, elements)) + '"]'
        if kind is int:
            return '["int", "' + '"], ["int", "'.join(map(int.__repr__, elements)) + '"]'
        if kind is str:
            return '["str", ' + '], ["str", '.join(map(encode_basestring_ascii, elements)) + ']'
    except ValueError:  # an int beyond the decimal-digit limit: the slow path writes it in hex
        return None
    return None


def _float(text: str) -> float:
    return float(text)  # accepts 'nan', 'inf', '-inf' as well as every float repr


def decode(tree):
    """Plain Python values from an ``encode`` tree (``Opaque`` for what was not a literal).
    Raises ``ValueError`` for a tree that ``encode`` cannot have written."""
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise ValueError("not a value tree")
    tag = tree[0]
    body = tree[1] if len(tree) > 1 else None
    if tag == "None":
        return None
    if tag == "bool" and isinstance(body, bool):
        return body
    if tag == "int" and isinstance(body, str):
        return int(body, 0)
    if tag == "float" and isinstance(body, str):
        return _float(body)
    if tag == "complex" and isinstance(body, list) and len(body) == 2:
        return complex(_float(body[0]), _float(body[1]))
    if tag == "str" and isinstance(body, str):
        return body
    if tag == "bytes" and isinstance(body, str):
        return bytes.fromhex(body)
    if tag == "opaque":
        return Opaque(str(body))
    if tag in ("list", "tuple", "set", "frozenset") and isinstance(body, list):
        items = [decode(item) for item in body]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
    if tag == "dict" and isinstance(body, list):
        return {decode(k): decode(v) for k, v in body}
    raise ValueError(f"not a value tree: {tag!r}")


def is_literal(tree) -> bool:
    """Whether the tree holds plain literals only (no opaque part anywhere)."""
    if not isinstance(tree, list) or not tree:
        return False
    tag = tree[0]
    if tag == "opaque":
        return False
    if tag in ("list", "tuple", "set", "frozenset"):
        return all(is_literal(item) for item in tree[1])
    if tag == "dict":
        return all(is_literal(k) and is_literal(v) for k, v in tree[1])
    return True


def same(expected, actual) -> bool:
    """Equality of two decoded values that also requires equal types all the way down
    (``1 == 1.0 == True`` are different answers), with NaN equal to NaN."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, float):
        return expected == actual or (math.isnan(expected) and math.isnan(actual))
    if isinstance(expected, complex):
        return same(expected.real, actual.real) and same(expected.imag, actual.imag)
    if isinstance(expected, (list, tuple)):
        return len(expected) == len(actual) and all(same(a, b) for a, b in zip(expected, actual))
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    return expected == actual


def literal_text(tree) -> str:
    """Python source for a literal tree (``repr`` of the decoded value; floats that have no
    literal are written as ``float('nan')`` and the like)."""
    value = decode(tree)
    if not is_literal(tree):
        raise ValueError("an opaque value has no literal text")
    return _source(value)


def _source(value) -> str:
    if type(value) is int:
        try:
            return repr(value)
        except ValueError:  # too many digits for decimal text
            return hex(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return f"float({repr(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_source(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_source(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_source(k)}: {_source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (set, frozenset)):
        if not value:
            return "set()" if isinstance(value, set) else "frozenset()"
        inner = "{" + ", ".join(_source(v) for v in value) + "}"
        return inner if isinstance(value, set) else f"frozenset({inner})"
    return repr(value)


def literal_call(text: str, name: str | None = None) -> tuple[str, list, dict]:
    """``(function name, args, kwargs)`` of a call whose arguments are all literals, read with
    ``ast.literal_eval`` (nothing runs). ``name``: the function it must call. Raises
    ``ValueError`` for anything else (another expression, ``*args``/``**kwargs``, a non-literal
    argument)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        raise ValueError(f"not a call: {error}") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError("not a call of a named function")
    if name is not None and node.func.id != name:
        raise ValueError(f"not a call of {name}")
    if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
        raise ValueError("unpacked arguments are not literals")
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("an argument is not a literal") from None
    return node.func.id, args, kwargs
