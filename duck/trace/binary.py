"""The duck trace format v2 (docs/trace-format.md): a binary, columnar, append-only trace.

A v2 file is ``MAGIC`` and then chunks, each ``tag (4 bytes) + payload length (u32 LE) +
payload``, so a reader stops cleanly at a chunk cut short by a killed writer. ``HEAD``,
``SRCE`` and ``OUTC`` carry the same JSON records as v1's header, source and outcome lines;
``EVTS`` carries one batch of the recorder's columns (``duck.trace.store``): the strings,
codes and frame entries it adds to the file-wide tables, then the events and their changes
as fixed-width columns (the width chosen per chunk), then the rare parts (deleted names,
exceptions, output) as JSON.

The writing half (``MAGIC``, chunks, ``ChunkWriter``) is ``duck.trace.chunks``, light for the
recording child; this module reads a file back into columns (``read_columns``) or v1 dicts
(``iter_records_v2``), converts between v1 and v2, and finishes a recording's file in the parent.
It does not decide what a trace means (``duck.session`` does) and does not record. Stdlib only.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate

from duck.trace.chunks import (_CHUNK, _COUNTS, _DEDUPE_LIMIT, _SEPARATOR, _SIGNED, _WIDTHS, MAGIC, VERSION,  # noqa: F401 - re-exported
                               ChunkWriter, _column, _strings, chunk, json_chunk)
# the parent's end of a recording (and telling v2 by its magic) is duck.trace.framing's, re-exported here
from duck.trace.framing import complete_size, finish, is_v2, steps_in_trace  # noqa: F401
from duck.trace.store import KINDS, VALUE, Events, FrameTable, format_events


_SIGN_BYTES = bytes(0xFF if b >= 0x80 else 0 for b in range(256))  # a top byte -> its sign-extension byte


def _widen(data: memoryview, width: int, signed: bool) -> bytearray:
    """Little-endian items of ``width`` bytes as 4-byte items, by strided byte copies (no per-item Python)."""
    count = len(data) // width
    out = bytearray(4 * count)
    for k in range(width):
        out[k::4] = data[k::width]
    if signed and width < 4:
        sign = bytes(data[width - 1::width]).translate(_SIGN_BYTES)
        for k in range(width, 4):
            out[k::4] = sign
    return out


def _read_column(buf: memoryview, pos: int, count: int, signed: bool = False, narrow: bool = False) -> tuple[array, int]:
    """A column written by ``_column`` as an ``array('i')`` or ``array('I')`` (``narrow``: at the
    width it was written, ``b``/``h``/``i`` or ``B``/``H``/``I``), and the position after it."""
    width = buf[pos]
    pos += 1
    end = pos + width * count
    if narrow:
        out = array((_SIGNED if signed else _WIDTHS)[width])
        out.frombytes(buf[pos:end])
    else:
        out = array("i" if signed else "I")
        out.frombytes(buf[pos:end] if width == 4 else _widen(buf[pos:end], width, signed))
    if sys.byteorder != "little":  # pragma: no cover
        out.byteswap()
    return out, end


def _extend(column: array, more: array) -> array:
    """``column`` with ``more`` appended, both at the wider of their widths (a narrow column is widened once)."""
    if more.itemsize > column.itemsize:
        column = array(more.typecode, column)
    elif more.itemsize < column.itemsize:
        more = array(column.typecode, more)
    column.extend(more)
    return column


_VALUE_BYTES = VALUE.encode("utf-8")


class StringTable:
    """The file-wide string table, kept as the UTF-8 bytes the chunks brought and decoded when read.

    A Python ``str`` per string would cost ~60 bytes each (a loop's values are mostly distinct
    short reprs); here a string costs its UTF-8 bytes and 4 bytes of offset. Read-only, indexed
    like a list (``table[i]``, ``len``, iteration).
    """

    __slots__ = ("_blobs", "_firsts", "_gaps", "_ends")

    def __init__(self, strings: Iterable[str] = ()) -> None:
        self._blobs: list[bytes] = []
        self._firsts = array("q")  # the id of each blob's first string
        self._gaps: list[int] = []  # 1: the blob's strings are separated by one byte
        self._ends = array("I")  # per string: where it (and its separator) ends in its blob
        strings = list(strings)
        if strings:
            encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
            self.add(b"".join(encoded), array("I", accumulate(map(len, encoded))), 0)

    def add(self, blob: bytes, ends: array, gap: int) -> None:
        """Strings ``blob[ends[k-1]:ends[k] - gap]`` (from 0 for the first), appended in order."""
        if not len(ends):
            return
        self._blobs.append(blob)
        self._firsts.append(len(self._ends))
        self._gaps.append(gap)
        self._ends.extend(ends)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> str:
        if i < 0:
            i += len(self._ends)
            if i < 0:
                raise IndexError("string id out of range")
        end = self._ends[i]  # raises IndexError past the end
        b = bisect_right(self._firsts, i) - 1
        start = self._ends[i - 1] if i > self._firsts[b] else 0
        return str(self._blobs[b][start:end - self._gaps[b]], "utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return map(self.__getitem__, range(len(self._ends)))

    def blobs(self) -> Iterator[tuple[int, bytes, memoryview, int]]:
        """``(first id, blob, ends, gap)`` per blob: its strings are ``blob[ends[k-1]:ends[k] - gap]``
        (from 0 for the first), with ids from ``first id`` on (to search the UTF-8 bytes as they are)."""
        ends = memoryview(self._ends)
        for b, blob in enumerate(self._blobs):
            first = self._firsts[b]
            stop = self._firsts[b + 1] if b + 1 < len(self._blobs) else len(self._ends)
            yield first, blob, ends[first:stop], self._gaps[b]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (StringTable, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def _read_strings(strings: StringTable, payload: memoryview, pos: int, count: int) -> tuple[int, int | None]:
    """Add the ``count`` strings written by ``_strings`` at ``pos`` to the table; the position after
    them and the id of ``VALUE`` among them (None if it is not one)."""
    mode = payload[pos]
    known = len(strings)
    if mode == 0:
        (size,) = struct.unpack_from("<I", payload, pos + 1)
        pos += 5
        if not count:
            return pos + size, None
        blob = bytes(payload[pos:pos + size])
        parts = blob.split(_SEPARATOR.encode())
        strings.add(blob, array("I", accumulate(map((1).__add__, map(len, parts)))), 1)
        return pos + size, known + parts.index(_VALUE_BYTES) if _VALUE_BYTES in parts else None
    lengths, pos = _read_column(payload, pos + 1, count)
    ends = array("I", accumulate(lengths))
    size = ends[-1] if count else 0
    blob = bytes(payload[pos:pos + size])
    strings.add(blob, ends, 0)
    value = None
    for k in range(count):
        if lengths[k] == len(_VALUE_BYTES) and strings[known + k] == VALUE:
            value = known + k
    return pos + size, value


@dataclass
class Columns:
    """A whole v2 trace as columns: the file-wide tables, the events, and the JSON records."""

    header: dict = field(default_factory=dict)
    strings: StringTable = field(default_factory=StringTable)  # read like a list of str
    code_file: array = field(default_factory=lambda: array("I"))  # string id per code
    code_func: array = field(default_factory=lambda: array("I"))
    # per frame entry, at the narrowest width that holds them (``b``/``h``/``i``)
    fid: array = field(default_factory=lambda: array("b"))
    code: array = field(default_factory=lambda: array("b"))
    depth: array = field(default_factory=lambda: array("b"))
    parent: array = field(default_factory=lambda: array("b"))
    # per step, at the narrowest width that holds them (``b``/``h``/``i``, ``B``/``H``/``I``)
    kind_line: array = field(default_factory=lambda: array("b"))  # line << 2 | kind
    ctx: array = field(default_factory=lambda: array("b"))  # frame entry
    nchanges: array = field(default_factory=lambda: array("B"))
    names: array = field(default_factory=lambda: array("B"))  # per change: string ids
    values: array = field(default_factory=lambda: array("I"))
    value_ids: set[int] = field(default_factory=set)  # string ids of store.VALUE, the return-value pseudo-name
    rare: dict[int, tuple] = field(default_factory=dict)  # step -> (deleted or None, (type, msg) or None)
    outputs: dict[int, list] = field(default_factory=dict)  # step -> [(stream, text), ...]
    sources: dict[str, str] = field(default_factory=dict)
    source_records: list[dict] = field(default_factory=list)  # as written (with ``sha256``)
    outcome: dict = field(default_factory=dict)
    size: int = 0  # bytes of complete chunks

    def __len__(self) -> int:
        return len(self.kind_line)


def iter_chunks(buf, start: int = len(MAGIC)) -> Iterator[tuple[bytes, memoryview, int]]:
    """(tag, payload, end offset) of every complete chunk; stops at one cut short."""
    view = memoryview(buf)
    pos, size = start, len(view)
    while pos + _CHUNK.size <= size:
        tag, length = _CHUNK.unpack_from(view, pos)
        end = pos + _CHUNK.size + length
        if end > size:
            return
        yield bytes(tag), view[pos + _CHUNK.size:end], end
        pos = end


def _read_events(columns: Columns, payload: memoryview) -> None:
    first, n, n_changes, n_strings, n_codes, n_frames, n_rare, _ = _COUNTS.unpack_from(payload, 0)
    if first != len(columns.kind_line):
        raise ValueError(f"an event chunk starts at step {first}, expected {len(columns.kind_line)}")
    pos, value_id = _read_strings(columns.strings, payload, _COUNTS.size, n_strings)
    if value_id is not None:  # a chunk holds it at most once
        columns.value_ids.add(value_id)
    for name in ("code_file", "code_func"):
        col, pos = _read_column(payload, pos, n_codes)
        getattr(columns, name).extend(col)
    for name in ("fid", "code", "depth", "parent"):  # at the narrowest width too (a code, a depth: a byte or two)
        col, pos = _read_column(payload, pos, n_frames, signed=True, narrow=True)
        setattr(columns, name, _extend(getattr(columns, name), col))
    for name, count, signed, narrow in (("kind_line", n, True, True), ("ctx", n, True, True),
                                        ("nchanges", n, False, True), ("names", n_changes, False, True),
                                        ("values", n_changes, False, False)):
        col, pos = _read_column(payload, pos, count, signed, narrow)
        setattr(columns, name, _extend(getattr(columns, name), col))
    if n_rare:
        extra = json.loads(bytes(payload[pos:pos + n_rare]).decode("utf-8", "surrogatepass"))
        for step, (deleted, exc) in extra.get("rare", {}).items():
            columns.rare[int(step)] = (tuple(deleted) if deleted else None, tuple(exc) if exc else None)
        for step, written in extra.get("outputs", {}).items():
            columns.outputs[int(step)] = [tuple(w) for w in written]


def read_columns(path: str | Path) -> Columns:
    """Read a v2 trace (memory-mapped) into columns; a torn last chunk is left out."""
    from duck.trace.format import TraceFormatError

    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise TraceFormatError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size < len(MAGIC):
            raise TraceFormatError(f"{path} is not a duck trace (too short)")
        problem = None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            if buf[:len(MAGIC)] != MAGIC:
                raise TraceFormatError(f"{path} is not a version 2 duck trace (no magic)")
            columns = Columns(size=len(MAGIC))
            chunks = iter_chunks(buf)
            try:
                for tag, payload, end in chunks:
                    _read_chunk(columns, tag, payload, path)
                    columns.size = end
                    del payload
            except TraceFormatError as exc:
                problem = str(exc)
            except (ValueError, UnicodeDecodeError, struct.error) as exc:
                problem = f"{path}: a damaged v2 chunk ({exc})"  # raised once the map is closed
            finally:
                chunks.close()  # its views of the map go before the map does
                payload = None
    if problem is not None:
        raise TraceFormatError(problem)
    return columns


def _read_chunk(columns: Columns, tag: bytes, payload: memoryview, path: Path) -> None:
    from duck.trace.format import FORMAT_NAME, TraceFormatError

    if tag == b"EVTS":
        _read_events(columns, payload)
    elif tag == b"HEAD":
        header = json.loads(bytes(payload).decode("utf-8", "surrogatepass"))
        if header.get("format") != FORMAT_NAME or header.get("version") != VERSION:
            raise TraceFormatError(f"{path} is trace format version {header.get('version')}; "
                                   f"this duck reads versions 1 and {VERSION}")
        columns.header = header
    elif tag == b"SRCE":
        record = json.loads(bytes(payload).decode("utf-8", "surrogatepass"))
        columns.sources[record["source"]] = record.get("text", "")
        columns.source_records.append(record)
    elif tag == b"OUTC":
        columns.outcome = json.loads(bytes(payload).decode("utf-8", "surrogatepass"))
    # any other tag: a later addition this reader does not know; skipped (the version rule)


def store_of(columns: Columns, start: int = 0, stop: int | None = None) -> tuple[Events, FrameTable]:
    """Steps ``start..stop`` of the columns as the recorder's store (to format them as v1 text)."""
    stop = len(columns) if stop is None else stop
    strings = columns.strings
    frames = FrameTable()
    frames.fid, frames.code, frames.depth, frames.parent = columns.fid, columns.code, columns.depth, columns.parent
    from json.encoder import encode_basestring as json_str

    frames.codes = ['"file":%s,"func":%s' % (json_str(strings[f]), json_str(strings[g]))
                    for f, g in zip(columns.code_file, columns.code_func)]
    events = Events(start)
    events.kind_line = columns.kind_line[start:stop]
    events.ctx = columns.ctx[start:stop]
    events.nchanges = columns.nchanges[start:stop]
    first_change = sum(columns.nchanges[:start])
    last_change = first_change + sum(events.nchanges)
    events.names = [strings[i] for i in columns.names[first_change:last_change]]
    events.texts = [strings[i] for i in columns.values[first_change:last_change]]
    events.rare = {s: v for s, v in columns.rare.items() if start <= s < stop}
    return events, frames


def iter_records_v2(path: str | Path, batch: int = 65536) -> Iterator[dict]:
    """The records of a v2 trace as v1 dicts (header, events, sources, outcome)."""
    columns = read_columns(path)
    header = dict(columns.header)
    yield header
    for start in range(0, len(columns), batch):
        events, frames = store_of(columns, start, min(start + batch, len(columns)))
        outputs = {s: w for s, w in columns.outputs.items() if start <= s < start + batch}
        for line in format_events(events, frames, outputs).splitlines():
            yield json.loads(line)
    yield from columns.source_records
    if columns.outcome:
        yield columns.outcome


# ------------------------------------------------------------------ conversion
def v1_events_to_store(records: Iterable[dict]) -> tuple[Events, FrameTable, dict[int, list]]:
    """Events (v1 dicts, steps 0..n-1) as the recorder's store: one frame entry per change of frame row."""
    from json.encoder import encode_basestring as json_str

    events, frames, outputs = Events(0), FrameTable(), {}
    entry: dict[int, int] = {}
    code_ids: dict[tuple[str, str], int] = {}
    kind_codes = {kind: code for code, kind in enumerate(KINDS)}
    for record in records:
        step = len(events)
        get = record.get
        fid = int(get("frame", 0))
        parent = get("parent")
        parent = -1 if parent is None else int(parent)
        key = (get("file", "?"), get("func", "?"))
        code = code_ids.get(key)
        if code is None:
            code = code_ids[key] = len(frames.codes)
            frames.codes.append('"file":%s,"func":%s' % (json_str(key[0]), json_str(key[1])))
        ctx = entry.get(fid)
        depth = int(get("depth", 0))
        if ctx is None or (frames.code[ctx], frames.depth[ctx], frames.parent[ctx]) != (code, depth, parent):
            frames.fid.append(fid)
            frames.code.append(code)
            frames.depth.append(depth)
            frames.parent.append(parent)
            ctx = entry[fid] = len(frames.fid) - 1
        events.kind_line.append(int(get("line") or 0) << 2 | kind_codes.get(get("event"), 1))
        events.ctx.append(ctx)
        changes = get("changes")
        value = get("value")
        n = 0
        if changes:
            events.names.extend(changes)
            events.texts.extend(changes.values())
            n = len(changes)
        if value is not None:
            events.names.append(VALUE)
            events.texts.append(value)
            n += 1
        events.nchanges.append(n)
        if len(record) > 8:  # more than the keys every event has
            deleted = get("deleted")
            exc = (record["exc_type"], get("exc_msg", "")) if "exc_type" in record else None
            if deleted or exc:
                events.rare[step] = (tuple(deleted) if deleted else None, exc)
            written = [(stream, record[stream]) for stream in ("stdout", "stderr", "stdin") if get(stream)]
            if written:
                outputs[step] = written
    return events, frames, outputs


class _V1Records:
    """A v1 record stream split: events go on to the store as they come, the rest is kept here."""

    def __init__(self, records: Iterable[dict]) -> None:
        self.records = records
        self.header: dict = {}
        self.sources: list[dict] = []
        self.outcome: dict | None = None

    def events(self) -> Iterator[dict]:
        for record in self.records:
            if "event" in record:
                yield record
            elif "source" in record:
                self.sources.append(record)
            elif "outcome" in record:
                self.outcome = record
            elif "format" in record:
                self.header = record


def columns_from_records(records: Iterable[dict]) -> Columns:
    """v1 records (header, events, sources, outcome) as the columns of the same trace in v2."""
    split = _V1Records(records)
    store, frames, outputs = v1_events_to_store(split.events())
    columns = Columns(header=split.header, outcome=split.outcome or {})
    if len(store):
        _read_events(columns, memoryview(ChunkWriter().events_chunk(store, frames, outputs))[_CHUNK.size:])
    for record in split.sources:
        columns.sources[record["source"]] = record.get("text", "")
        columns.source_records.append(record)
    return columns


def convert_to_v2(source: str | Path, target: str | Path) -> None:
    """Write trace ``source`` (v1 or v2) as a v2 trace at ``target``."""
    from duck.trace.format import iter_records

    split = _V1Records(iter_records(source))
    store, frames, outputs = v1_events_to_store(split.events())
    with open(target, "wb") as f:
        f.write(MAGIC + json_chunk(b"HEAD", {**split.header, "version": VERSION}))
        if len(store):
            f.write(ChunkWriter().events_chunk(store, frames, outputs))
        for record in split.sources:
            f.write(json_chunk(b"SRCE", record))
        if split.outcome is not None:
            f.write(json_chunk(b"OUTC", split.outcome))


def convert_to_v1(source: str | Path, target: str | Path) -> None:
    """Write trace ``source`` (v1 or v2) as a v1 JSON Lines trace at ``target``."""
    from duck.trace.format import FORMAT_VERSION, TraceWriter, iter_records, record_kind

    with TraceWriter.open(target) as writer:
        for record in iter_records(source):
            if record_kind(record) == "header":
                record = {**record, "version": FORMAT_VERSION}
            writer.write(record)


# ------------------------------------------------------------------ the parent's end of a recording
def files_in_trace(path: str | Path) -> list[str]:
    """The files named by a v2 trace's code table."""
    columns = read_columns(path)
    return list(dict.fromkeys(columns.strings[i] for i in columns.code_file))
