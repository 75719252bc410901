"""The duck trace format v1 (docs/trace-format.md): constants, a writer and a streaming reader.

The reader also takes a v2 file (``duck.trace.binary``), told apart by its first bytes.

This module moves records between JSON Lines and Python dicts and checks their shape; it
does not compute anything from them (``duck.session`` does) and does not record (the
recorder does). Stdlib only, and light to import (no dataclasses, typing or pathlib): ``duck
record`` reaches it on its start-up path (``looks_like_trace``, ``header``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from duck.trace.spelling import json_text, spelled_out  # noqa: F401 - part of this module's interface

FORMAT_NAME = "duck-trace"
FORMAT_VERSION = 1

EVENT_KINDS = ("call", "line", "return", "exception")
OUTCOMES = ("finished", "exited", "exception", "limit", "failed_to_start")
LIMITS = ("max_steps", "timeout", "memory", "output", "interrupted")


_fast_loads = _FastDecodeError = None  # orjson's, imported by the first read (duck record never reads)
#: what a line that is not JSON raises: orjson's and json's errors (json is imported by the first read
#: too: ``duck record`` writes JSON with ``json_text`` and reads none)
_DECODE_ERRORS: tuple = ()


def _import_fast_loads() -> None:
    """orjson parses trace lines about 2x faster than json; the stdlib is the fallback."""
    global _fast_loads, _FastDecodeError, _DECODE_ERRORS
    import json

    try:
        from orjson import JSONDecodeError as _FastDecodeError
        from orjson import loads as _fast_loads
    except ImportError:  # pragma: no cover - orjson is a dependency, but the recorder child may lack it
        _fast_loads, _FastDecodeError = json.loads, json.JSONDecodeError
    _DECODE_ERRORS = (_FastDecodeError, json.JSONDecodeError)


class TraceFormatError(ValueError):
    """The file is not a duck trace of a version this reader understands."""


def _is_header(record: object) -> bool:
    return isinstance(record, dict) and record.get("format") == FORMAT_NAME


def looks_like_trace(path: str | Path) -> bool:
    """Whether ``path`` is a duck trace: v2's magic bytes or a v1 header line (reads the start only; False when unreadable)."""
    from duck.trace.framing import MAGIC

    try:
        with open(path, "rb") as stream:
            if stream.read(len(MAGIC)) == MAGIC:
                return True
            stream.seek(0)
            first = stream.readline(1 << 16)
    except OSError:
        return False
    if not first.lstrip(b" \t\r\n").startswith((b"{", b"\xef\xbb\xbf")) and b"\x00" not in first[:4]:
        return False  # not a JSON object (a program's source: duck record's every start), json not imported
    import json

    try:
        return _is_header(json.loads(first))
    except ValueError:  # not JSON, not UTF-8
        return False


def header(**fields: object) -> dict:
    """A header record with the format name and version filled in."""
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, **fields}



def _dumps(record: dict) -> str:
    return json_text(spelled_out(record))


class TraceWriter:
    """Writes records to a JSON Lines stream, one per line, flushing at ``flush()``/``close()``."""

    def __init__(self, stream) -> None:  # a text stream
        self._stream = stream

    @classmethod
    def open(cls, path: str | Path) -> "TraceWriter":
        return cls(open(path, "w", encoding="utf-8", newline="\n"))

    def write(self, record: dict) -> None:
        self._stream.write(_dumps(record))
        self._stream.write("\n")

    def write_all(self, records: Iterable[dict]) -> None:
        for record in records:
            self.write(record)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record_kind(record: dict) -> str:
    """``header``, ``event``, ``source`` or ``outcome`` (``unknown`` for anything else)."""
    if "event" in record:
        return "event"
    if "source" in record:
        return "source"
    if "outcome" in record:
        return "outcome"
    if "format" in record:
        return "header"
    return "unknown"


def iter_records(path: str | Path) -> Iterator[dict]:
    """Yield every record of a trace file (v1, or v2 as v1 dicts) in order, checking the header first.

    A last line that was cut off mid-write (a killed writer) is skipped, not an error.
    """
    from pathlib import Path

    from duck.trace import binary

    path = Path(path)
    try:
        if binary.is_v2(path):
            yield from binary.iter_records_v2(path)
            return
        stream = open(path, encoding="utf-8")
    except OSError as exc:
        raise TraceFormatError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    import json

    with stream:
        try:
            head = json.loads(stream.readline())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TraceFormatError(f"{path} is not a duck trace (its first line is not JSON)") from None
        if not _is_header(head):
            raise TraceFormatError(f"{path} is not a duck trace (no '{FORMAT_NAME}' header)")
        if head.get("version") != FORMAT_VERSION:
            raise TraceFormatError(
                f"{path} is trace format version {head.get('version')}; this duck reads version {FORMAT_VERSION}"
            )
        yield head
        if _fast_loads is None:
            _import_fast_loads()
        pending: str | None = None
        try:
            for line in stream:
                if pending is not None:
                    yield _loads(pending, path)
                pending = line
        except UnicodeDecodeError as exc:
            raise TraceFormatError(f"{path}: a line is not UTF-8 text ({exc.reason})") from None
        if pending is not None:
            try:
                yield _fast_loads(pending)
            except _DECODE_ERRORS:
                try:
                    yield json.loads(pending)  # a lone surrogate, as in _loads
                except json.JSONDecodeError:
                    return  # a torn last line from a killed writer


def _loads(line: str, path: Path) -> dict:
    if _fast_loads is None:
        _import_fast_loads()
    try:
        return _fast_loads(line)
    except _DECODE_ERRORS as exc:
        import json

        try:  # orjson refuses a lone surrogate (``"\udce9"``: a byte that was not UTF-8 on stdin); json reads it
            return json.loads(line)
        except json.JSONDecodeError:
            raise TraceFormatError(f"{path}: a line is not valid JSON ({exc})") from None


class Trace:
    """A whole trace in memory, for small traces and tests (the session stores columns).

    Written by hand rather than as a dataclass (this module is on ``duck record``'s start-up
    path); it compares and prints as the dataclass did.
    """

    __slots__ = ("header", "events", "sources", "outcome")

    def __init__(self, header: dict, events: list[dict] | None = None, sources: dict[str, str] | None = None,
                 outcome: dict | None = None) -> None:
        self.header = header
        self.events = [] if events is None else events
        self.sources = {} if sources is None else sources
        self.outcome = {} if outcome is None else outcome

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return "Trace(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"

    def records(self) -> Iterator[dict]:
        yield self.header
        yield from self.events
        for path, text in self.sources.items():
            yield {"source": path, "text": text}
        yield self.outcome

    def write(self, path: str | Path) -> None:
        with TraceWriter.open(path) as writer:
            writer.write_all(self.records())


def read_trace(path: str | Path) -> Trace:
    """Read a whole trace into memory."""
    records = iter_records(path)
    trace = Trace(header=next(records))
    for record in records:
        kind = record_kind(record)
        if kind == "event":
            trace.events.append(record)
        elif kind == "source":
            trace.sources[record["source"]] = record.get("text", "")
        elif kind == "outcome":
            trace.outcome = record
    if not trace.outcome:
        trace.outcome = missing_outcome(len(trace.events))
    return trace


#: The message of the outcome a trace without an outcome line is given (``missing_outcome``).
NO_OUTCOME = "the trace has no outcome line: the recorder was stopped"


def missing_outcome(steps: int) -> dict:
    """The outcome of a trace that has none: its recorder was killed, or the file was cut short."""
    return {"outcome": "limit", "limit": "interrupted", "steps": steps, "message": NO_OUTCOME}
