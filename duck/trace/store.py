"""The recorder's compact event store: events in columns, turned into trace-format text or dicts on demand.

An event is four numbers and a run of changes: ``kind_line`` (``line << 2 | kind``), ``ctx``
(which frame *entry* it belongs to: an index into ``FrameTable``, whose rows give the frame id,
code, depth and parent), ``nchanges``, and that many ``(name, safe repr)`` pairs in the
``names``/``texts`` columns (a return value rides along as the pseudo-name ``VALUE``). The
rare parts (deleted names, exception type and message) live in a dict by step. Numbers are in
``array`` columns and names/texts in flat lists, so the store costs tens of bytes per step and
gives the cyclic GC nothing to rescan; ``Events.pack()`` joins the texts of a finished run into
one string with an offsets array. ``format_events_bytes`` writes a run's lines in C where
``duck.trace._speedups`` is built (byte for byte what ``format_events`` gives, UTF-8 encoded).

This module does not decide what to record (``recorder`` and ``localdiff`` do) and does not
write files (``_child`` does). Stdlib only.
"""

from __future__ import annotations

from array import array
from itertools import accumulate

from duck.trace.spelling import json_string as _json_str, spelled_out  # not json: its re is the child's start-up
from duck.trace.localdiff import speedups as _speedups
from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...

CALL, LINE, RETURN, EXCEPTION = 0, 1, 2, 3
KINDS = ("call", "line", "return", "exception")
VALUE = "\x00value"  # the pseudo-local that carries a return event's value in the changes columns


class FrameTable:
    """One row per frame entry (a call, or a generator's resume): frame id, code index, depth, parent frame id."""

    __slots__ = ("fid", "code", "depth", "parent", "codes", "_code_ids", "_prefixes")

    def __init__(self) -> None:
        self.fid = array("i")
        self.code = array("i")
        self.depth = array("i")
        self.parent = array("i")  # -1: no recorded caller
        self.codes: list[str] = []  # per code: '"file":...,"func":...' as JSON
        self._code_ids: dict[object, int] = {}
        self._prefixes: dict[int, str] = {}

    def add(self, fid: int, code, depth: int, parent: int) -> int:
        """A new entry's row number."""
        index = self._code_ids.get(code)
        if index is None:
            index = self._code_ids[code] = len(self.codes)
            func = code.co_qualname if hasattr(code, "co_qualname") else code.co_name
            self.codes.append('"file":%s,"func":%s' % (_json_str(spelled_out(code.co_filename)), _json_str(func)))
        self.fid.append(fid)
        self.code.append(index)
        self.depth.append(depth)
        self.parent.append(parent)
        return len(self.fid) - 1

    def prefix(self, ctx: int) -> str:
        """The JSON members ``"file":..,"func":..,"depth":..,"frame":..,"parent":..`` of entry ``ctx``."""
        text = self._prefixes.get(ctx)
        if text is None:
            parent = self.parent[ctx]
            text = '%s,"depth":%d,"frame":%d,"parent":%s' % (
                self.codes[self.code[ctx]], self.depth[ctx], self.fid[ctx], "null" if parent < 0 else parent)
            if len(self._prefixes) > 4096:
                self._prefixes.clear()
            self._prefixes[ctx] = text
        return text


class Events:
    """A run of events in columns, starting at step ``first_step``."""

    __slots__ = ("first_step", "kind_line", "ctx", "nchanges", "names", "texts", "ends", "rare")

    def __init__(self, first_step: int = 0) -> None:
        self.first_step = first_step
        self.kind_line = array("i")
        self.ctx = array("i")
        self.nchanges = array("I")
        self.names: list[str] | tuple = []
        self.texts: list[str] | str = []
        self.ends: array | None = None  # set by pack(): texts is then one string, ends the offsets
        self.rare: dict[int, tuple] = {}  # step -> (deleted names or None, (exc_type, exc_msg) or None)

    def __len__(self) -> int:
        return len(self.kind_line)

    def take(self, n: int) -> "Events":
        """Move the first ``n`` events out into a new run (this one keeps the rest)."""
        out = Events(self.first_step)
        nchanges = sum(self.nchanges[:n])
        out.kind_line = self.kind_line[:n]
        out.ctx = self.ctx[:n]
        out.nchanges = self.nchanges[:n]
        out.names = self.names[:nchanges]
        out.texts = self.texts[:nchanges]
        end = self.first_step + n
        out.rare = {s: v for s, v in self.rare.items() if s < end}
        del self.kind_line[:n], self.ctx[:n], self.nchanges[:n], self.names[:nchanges], self.texts[:nchanges]
        for s in out.rare:
            del self.rare[s]
        self.first_step = end
        return out

    def pack(self) -> "Events":
        """Freeze a finished run: texts joined into one string with an offsets array, names in a tuple."""
        if self.ends is None:
            texts = self.texts
            self.ends = array("I", accumulate(map(len, texts)))
            self.texts = "".join(texts)
            self.names = tuple(self.names)
        return self

    def text_at(self, i: int) -> str:
        if self.ends is None:
            return self.texts[i]
        return self.texts[self.ends[i - 1] if i else 0:self.ends[i]]

    def nbytes(self) -> int:
        """Roughly what the columns hold in memory (for the benchmark)."""
        import sys

        size = sum(a.itemsize * len(a) for a in (self.kind_line, self.ctx, self.nchanges))
        size += sys.getsizeof(self.names) + sys.getsizeof(self.texts)
        if self.ends is None:
            size += sum(map(sys.getsizeof, self.texts))
        else:
            size += self.ends.itemsize * len(self.ends)
        return size


_encoded_names: dict[str, str] = {}


def _encode_name(name: str) -> str:
    """``"name":`` as JSON, remembered (locals' names repeat on nearly every event)."""
    encoded = _encoded_names[name] = _json_str(name) + ":"
    return encoded


def _join_streams(written: list) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for stream, text in written:
        joined.setdefault(stream, []).append(text)
    return {stream: "".join(texts) for stream, texts in joined.items()}


def _event_line(events: Events, frames: FrameTable, outputs: dict[int, list], i: int, c: int) -> str:
    """The JSON line of event ``i`` of ``events``, whose changes start at ``c`` in the changes columns."""
    step = events.first_step + i
    kind_line = events.kind_line[i]
    n = events.nchanges[i]
    parts = ['{"step":%d,"event":"%s","line":%d,%s' % (step, KINDS[kind_line & 3], kind_line >> 2,
                                                        frames.prefix(events.ctx[i]))]
    value = None
    if n:
        names = events.names
        text_at = events.text_at
        members = []
        for j in range(c, c + n):
            name = names[j]
            if name == VALUE:
                value = text_at(j)
            else:
                members.append((_encoded_names.get(name) or _encode_name(name)) + _json_str(text_at(j)))
        if members:
            parts.append(',"changes":{%s}' % ",".join(members))
    extra = events.rare.get(step)
    if extra is not None and extra[0]:
        parts.append(',"deleted":[%s]' % ",".join(_json_str(d) for d in extra[0]))
    if value is not None:
        parts.append(',"value":%s' % _json_str(value))
    if extra is not None and extra[1] is not None:
        parts.append(',"exc_type":%s,"exc_msg":%s' % (_json_str(extra[1][0]), _json_str(extra[1][1])))
    written = outputs.get(step)
    if written:
        for stream, text in _join_streams(written).items():
            parts.append(',"%s":%s' % (stream, _json_str(text)))
    parts.append("}\n")
    return "".join(parts)


def format_events(events: Events, frames: FrameTable, outputs: dict[int, list]) -> str:
    """JSON Lines text of a run of events (the trace format's event records)."""
    lines = []
    append = lines.append
    step = events.first_step - 1
    prefix = frames.prefix
    rare = events.rare
    c = 0
    for i, (kind_line, ctx, n) in enumerate(zip(events.kind_line, events.ctx, events.nchanges)):
        step += 1
        if not n and step not in rare and step not in outputs:
            append('{"step":%d,"event":"%s","line":%d,%s}\n' % (step, KINDS[kind_line & 3], kind_line >> 2, prefix(ctx)))
        else:
            append(_event_line(events, frames, outputs, i, c))
            c += n
    return "".join(lines)


def format_events_bytes(events: Events, frames: FrameTable, outputs: dict[int, list]) -> bytes:
    """``format_events`` as UTF-8 (unpaired surrogates backslash-escaped): in C when ``_speedups`` is built."""
    if _speedups is not None and events.ends is None:
        special = array("q", sorted({*events.rare, *outputs}))
        return _speedups.format_run(
            events.first_step, events.kind_line, events.ctx, events.nchanges, events.names, events.texts,
            frames.fid, frames.code, frames.depth, frames.parent, frames.codes, VALUE, special,
            lambda i, c: _event_line(events, frames, outputs, i, c))
    return format_events(events, frames, outputs).encode("utf-8", "backslashreplace")


def event_dicts(events: Events, frames: FrameTable, outputs: dict[int, list]) -> list[dict]:
    """The same events as ``format_events``, as dicts."""
    import json

    return [json.loads(line) for line in format_events(events, frames, outputs).splitlines()]
