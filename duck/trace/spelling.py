"""How the recording child spells a trace record: ``spelled_out`` text, and JSON text without ``json``.

The recording child needs only this from the trace format, so it lives apart from
``duck.trace.format`` (whose reader pulls in ``orjson``, ``dataclasses`` and ``pathlib``) and
keeps the child's start-up short; ``format`` re-exports ``spelled_out``. ``json_text`` and
``json_string`` are ``json.dumps`` and its string encoder, run by the very C functions
``json.dumps`` calls (``_json``), without importing ``json``: its ``re`` and ``enum`` were a
third of the child's start-up. Immune to a program's builtins. It does not read JSON.
"""

from __future__ import annotations

from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - runs in the recording child

try:  # CPython's accelerator of json (json.encoder uses these two whenever they exist)
    from _json import encode_basestring as json_string, make_encoder as _make_encoder
except ImportError:  # pragma: no cover - a Python without it: json's own pure-Python code
    _make_encoder = None

    def json_string(text: str) -> str:
        from json.encoder import encode_basestring

        return encode_basestring(text)


def spelled_out(value: object) -> object:
    """``value`` (a str, or a dict/list holding them) with each unpaired surrogate spelled out as
    the six characters ``\\udcXX``. A file name that is not UTF-8 reaches Python with such
    surrogates; spelled out, every record is UTF-8 and JSON that any reader (orjson too) accepts,
    and the name still shows which byte it had."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {spelled_out(k): spelled_out(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [spelled_out(v) for v in value]
    return value



def _not_serializable(value: object) -> object:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")  # json's message


def json_text(value: object, compact: bool = True) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` (``compact=False``: json's default
    separators), the same text: ``json.dumps`` runs this same C encoder for such a call, built here with
    the arguments ``json.JSONEncoder.iterencode`` gives it (3.11-3.13)."""
    if _make_encoder is None:  # pragma: no cover
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":") if compact else None)
    if isinstance(value, str):
        return json_string(value)
    # markers (circular references), default, string encoder, indent, key and item separators,
    # sort_keys, skipkeys, allow_nan; a new encoder per call, as json.dumps makes one
    encode = _make_encoder({}, _not_serializable, json_string, None, ":" if compact else ": ",
                           "," if compact else ", ", False, False, True)
    return "".join(encode(value, 0))


def exit_message(code: object) -> str:
    """The outcome's message for a run that ended by ``SystemExit(code)`` with a failing status: the
    program's own ``sys.exit``, or a library's it called (argparse exits 2 on bad arguments), or a
    ``raise SystemExit``. One wording for the recorder's child and the sandbox's untraced runs."""
    return f"the program ended with sys.exit({code!r})"
