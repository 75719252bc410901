"""The framing of a duck trace v2 file (docs/trace-format.md): its magic, its chunks, and how a recording ends.

A v2 file is ``MAGIC`` and then chunks, each ``tag (4 bytes) + payload length (u32 LE) +
payload``. This module knows that much and no more: it writes a chunk, a JSON chunk, and
finishes a recording (``finish``: cut a torn last chunk, add the header the child never
wrote, the sources and the outcome), reading only the chunk headers and each ``EVTS`` chunk's
counts to find where the whole chunks end and how many events they hold.

It is apart from ``duck.trace.chunks`` (the ``EVTS`` writer, which loads the C core) and
``duck.trace.binary`` (the reader) so that ``duck record``'s parent process, which only
launches the child and finishes its file, and ``format.looks_like_trace`` import this alone.
It does not read events or decode columns. Stdlib only.
"""

from __future__ import annotations

import os
from _struct import Struct, unpack  # struct's C half: struct.py adds nothing used here

from duck.trace.spelling import json_text, spelled_out

MAGIC = b"\x89duck\r\n\x1a"  # not UTF-8 and not '{': tells v2 from v1 by the first byte
VERSION = 2
_CHUNK = Struct("<4sI")
_COUNTS = Struct("<8I")  # first_step, events, changes, strings, codes, frames, rare-json bytes, reserved


def chunk(tag: bytes, payload: bytes) -> bytes:
    return _CHUNK.pack(tag, len(payload)) + payload


def json_chunk(tag: bytes, record: dict) -> bytes:
    """A chunk holding ``record`` as UTF-8 JSON, unpaired surrogates spelled out as in v1 (``format.spelled_out``)."""
    return chunk(tag, json_text(spelled_out(record)).encode("utf-8"))


def is_v2(path) -> bool:
    """Whether the file starts with the v2 magic (v1 starts with ``{``)."""
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def scan(path) -> tuple[int, int]:
    """(length of the file's whole chunks, events their ``EVTS`` chunks hold); (0, 0) without the magic.

    Reads the chunk headers only (and the counts at the start of each ``EVTS`` payload), seeking
    over the payloads, so a 100 MB trace costs a few reads per chunk.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < len(MAGIC) or f.read(len(MAGIC)) != MAGIC:
            return 0, 0
        end = pos = len(MAGIC)
        steps = 0
        while pos + _CHUNK.size <= size:
            tag, length = _CHUNK.unpack(f.read(_CHUNK.size))
            stop = pos + _CHUNK.size + length
            if stop > size:
                break
            if tag == b"EVTS" and length >= 8:
                counts = f.read(8)
                if len(counts) == 8:
                    first, n = unpack("<2I", counts)
                    steps = first + n
            f.seek(stop)
            end = pos = stop
        return end, steps


def complete_size(path) -> int:
    """The length of the file's whole chunks (0 when it does not even have the magic)."""
    return scan(path)[0]


def steps_in_trace(path) -> int:
    """How many events the file's whole ``EVTS`` chunks hold (the last one's first step plus its count)."""
    return scan(path)[1]


def finish(path, header: dict, sources: list[dict], outcome: dict, size: int | None = None) -> None:
    """Cut a torn last chunk, write a header if the child never did, then append sources and outcome.

    ``size``: the length of the whole chunks when the caller has scanned the file already.
    """
    if size is None:
        size = complete_size(path)
    with open(path, "rb+") as f:
        f.truncate(size)
        f.seek(size)
        if size == 0:
            f.write(MAGIC + json_chunk(b"HEAD", {**header, "version": VERSION}))
        for record in sources:
            f.write(json_chunk(b"SRCE", record))
        f.write(json_chunk(b"OUTC", outcome))
