"""``spelled_out``: text made safe for a UTF-8 trace record, with nothing else in the module.

The recording child needs only this from the trace format, so it lives apart from
``duck.trace.format`` (whose reader pulls in ``orjson``, ``dataclasses`` and ``pathlib``) and
keeps the child's start-up short; ``format`` re-exports it. Immune to a program's builtins.
"""

from __future__ import annotations

from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - runs in the recording child


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

