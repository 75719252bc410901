"""The writing half of the duck trace format v2 (docs/trace-format.md): chunks and the ``EVTS`` writer.

A v2 file is ``MAGIC`` and then chunks (their framing is ``duck.trace.framing``'s, re-exported
here). ``ChunkWriter.events_chunk`` turns one batch of the recorder's store
(``duck.trace.store``) into an ``EVTS`` chunk, keeping the file-wide string, code and frame
tables' state between batches. Its hot part (string ids and fixed-width columns) runs in C
(``duck.trace._speedups.intern_column`` / ``encode_column``) where the core is built, and in
the pure-Python ``_ids`` + ``_column`` otherwise; both write the same bytes
(tests/duck/trace/test_chunks.py).

It is apart from ``duck.trace.binary`` (which reads traces back into ``Columns`` and
converts between v1 and v2) so that the recording child imports only this: no dataclasses,
mmap or pathlib on its start-up path. It does not decide what is recorded and does not read.
Stdlib only.
"""

from __future__ import annotations

import sys
from _functools import partial  # the C halves of functools and operator: the child's start-up,
from _operator import is_  # without the collections and types that the Python halves import
from _struct import pack
from array import array
from itertools import compress

from duck.trace.framing import _CHUNK, _COUNTS, MAGIC, VERSION, chunk, json_chunk  # noqa: F401 - re-exported
from duck.trace.localdiff import speedups as _speedups
from duck.trace.spelling import json_text

try:
    from _json import scanstring as _scanstring  # what json.loads reads a string with (its C half)
except ImportError:  # pragma: no cover
    _scanstring = None
_WIDTHS = {1: "B", 2: "H", 4: "I"}
_SIGNED = {1: "b", 2: "h", 4: "i"}
_is_none = partial(is_, None)
_DEDUPE_LIMIT = 1 << 20  # distinct strings the writer remembers before it starts afresh (memory bound)
_SEPARATOR = "\x1f"  # joins a chunk's new strings when none contains it (reprs escape control characters)
#: the compiled column encoders, or None (not built, an older build, or DUCK_PURE_PYTHON=1)
_C = _speedups if _speedups is not None and hasattr(_speedups, "intern_column") else None


def _column(values: array, signed: bool = False) -> bytes:
    """A width byte (1, 2 or 4) and the values at that width, little-endian."""
    if not len(values):
        return b"\x01"
    low, high = min(values), max(values)
    if signed:
        width = 1 if -128 <= low and high < 128 else 2 if -32768 <= low and high < 32768 else 4
        codes = _SIGNED
    else:
        width = 1 if high < 256 else 2 if high < 65536 else 4
        codes = _WIDTHS
    out = values if values.itemsize == width and values.typecode == codes[width] else array(codes[width], values)
    if sys.byteorder != "little":  # pragma: no cover - big-endian machines
        out = array(out.typecode, out)
        out.byteswap()
    return bytes((width,)) + out.tobytes()


def _strings(new: list[str]) -> bytes:
    """A chunk's new strings: mode 0, one text split on ``_SEPARATOR``; mode 1, byte lengths then the bytes."""
    text = _SEPARATOR.join(new)
    if text.count(_SEPARATOR) == max(len(new) - 1, 0):
        blob = text.encode("utf-8", "surrogatepass")
        return pack("<BI", 0, len(blob)) + blob
    encoded = [s.encode("utf-8", "surrogatepass") for s in new]
    return b"\x01" + _column(array("I", map(len, encoded))) + b"".join(encoded)


def _code_names(members: str) -> tuple[str, str]:
    """The file and function of a ``store.FrameTable`` code (``"file":"..","func":".."``), as ``json.loads`` reads them."""
    if _scanstring is None:  # pragma: no cover
        import json

        code = json.loads("{" + members + "}")
        return code["file"], code["func"]
    file, end = _scanstring(members, 8)  # after '"file":"'
    func, _ = _scanstring(members, end + 9)  # after ',"func":"'
    return file, func


class ChunkWriter:
    """Turns runs of the recorder's store into ``EVTS`` chunks, keeping the file-wide tables' state.

    ``accelerated=False``: the pure-Python column code even where the C core is built (the
    differential test writes every chunk both ways).
    """

    def __init__(self, accelerated: bool = True) -> None:
        self.string_ids: dict[str, int] = {}
        self.strings = 0  # strings written so far (ids are positions in the file-wide table)
        self.codes_written = 0
        self.frames_written = 0
        self._c = _C if accelerated else None

    def _ids(self, texts, new: list[str]) -> array:
        """The string ids of ``texts``; the ones not seen before get new ids and go into ``new``."""
        ids = self.string_ids
        found = list(map(ids.get, texts))  # mostly hits: a loop's values repeat
        if None in found:
            for k in compress(range(len(found)), map(_is_none, found)):
                text = texts[k]
                sid = ids.get(text)
                if sid is None:
                    sid = ids[text] = self.strings
                    self.strings += 1
                    new.append(text)
                found[k] = sid
        return array("I", found)

    def _id_column(self, texts, new: list[str]) -> bytes:
        """``_column(self._ids(texts, new))``, in C where it is built."""
        if self._c is not None:
            column, self.strings = self._c.intern_column(self.string_ids, texts, self.strings, new)
            return column
        return _column(self._ids(texts, new))

    def _int_column(self, values: array, signed: bool) -> bytes:
        return self._c.encode_column(values, signed) if self._c is not None else _column(values, signed)

    def events_chunk(self, events, frames, outputs: dict[int, list]) -> bytes:
        """One ``EVTS`` chunk: a run of events (``store.Events``), the frame entries and codes new since the
        last chunk (``store.FrameTable``), and the output written at each step."""
        if len(self.string_ids) > _DEDUPE_LIMIT:
            self.string_ids.clear()  # strings are written again as needed: a bounded writer, a longer file
        new: list[str] = []
        codes = frames.codes[self.codes_written:]
        code_file, code_func = array("I"), array("I")
        for members in codes:
            ids = self._ids(_code_names(members), new)
            code_file.append(ids[0])
            code_func.append(ids[1])
        start = self.frames_written
        n_frames = len(frames.fid) - start
        n = len(events)
        n_changes = sum(events.nchanges)
        names = self._id_column(events.names[:n_changes], new)
        texts = [events.text_at(i) for i in range(n_changes)] if events.ends is not None else events.texts[:n_changes]
        values = self._id_column(texts, new)
        rare = {}
        if events.rare:
            rare["rare"] = {str(s): [list(d) if d else None, list(e) if e else None] for s, (d, e) in events.rare.items()}
        if outputs:
            rare["outputs"] = {str(s): [list(w) for w in written] for s, written in outputs.items()}
        rare_bytes = json_text(rare).encode("utf-8", "surrogatepass") if rare else b""
        column = self._int_column
        parts = [_COUNTS.pack(events.first_step, n, n_changes, len(new), len(codes), n_frames, len(rare_bytes), 0),
                 _strings(new),
                 _column(code_file), _column(code_func)]
        for col in (frames.fid, frames.code, frames.depth, frames.parent):
            parts.append(column(col[start:], True))
        parts += [column(events.kind_line[:n], True), column(events.ctx[:n], True),
                  column(events.nchanges[:n], False), names, values, rare_bytes]
        self.codes_written = len(frames.codes)
        self.frames_written = len(frames.fid)
        return chunk(b"EVTS", b"".join(parts))
