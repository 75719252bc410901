"""The step indexes of a ``duck.session.Session``, built from the trace's columns with numpy.

``build_index`` turns the first ``stop`` steps of a session's columns (``line << 2 | kind``,
the frame entry of each step, the changes as string ids) into grouped step arrays, with a
handful of whole-array operations instead of a Python loop over the steps:

* steps per frame activation: a stable argsort of the steps by frame;
* line events per (file, line): a stable argsort of the line steps by that key;
* the history of each (frame, variable): the changes (and deletions) in step order, stably
  sorted by (frame, name), with the string id of each value (-1: deleted); a frame's variables
  are kept in the order they first appear there (``var_frames``, ``var_names``);
* (for the whole trace only) loop-header visits: which ones start an iteration, decided from
  the frame's next step, and which begin a new entry into the loop, decided from the frame's
  previous line step.

Each group is read through ``Groups`` (sorted integer keys and offsets into one array), with
``bisect`` on memoryviews, so a query costs O(log n) and yields plain Python ints. Arrays are
kept at the narrowest width that holds them (int32 steps, uint16 names): a whole 1M-step
session is ~31 bytes/step with its columns.

``build_prefix`` builds the same arrays for a short prefix in plain Python: the first screen of
a long trace is answered from it, so numpy (imported by the functions that build, never at
import) is not on ``duck --help``'s path nor before the TUI's first screen. ``find_change`` is
search's whole-array scan. This module answers no query itself (``duck.session`` does) and
formats nothing.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from functools import cache
from itertools import accumulate, chain
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from duck.session import Session

#: Per this many steps, the number of changes before it (``StepIndex.change_start``).
CHECKPOINT_SHIFT = 6


class Groups:
    """Items grouped by an integer key: ``keys`` sorted, group ``g`` is ``items[offsets[g]:offsets[g + 1]]``."""

    __slots__ = ("keys", "offsets", "items", "_keys", "_offsets", "_items")

    def __init__(self, keys, offsets, items) -> None:
        self.keys, self.offsets, self.items = keys, offsets, items
        self._keys, self._offsets, self._items = memoryview(keys), memoryview(offsets), memoryview(items)

    @classmethod
    def empty(cls) -> "Groups":
        return cls(array("q"), array("q", [0]), array("i"))

    def group(self, key: int) -> int:
        """The group of ``key``, or -1."""
        keys = self._keys
        g = bisect_left(keys, key)
        return g if g < len(keys) and keys[g] == key else -1

    def bounds(self, g: int) -> tuple[int, int]:
        """``(start, stop)`` of group ``g`` in ``items`` (``(0, 0)`` for -1)."""
        if g < 0:
            return 0, 0
        return self._offsets[g], self._offsets[g + 1]

    def key_range(self, low: int, high: int) -> tuple[int, int]:
        """The groups whose keys are in ``low..high-1``."""
        return bisect_left(self._keys, low), bisect_left(self._keys, high)


class StepIndex:
    """The indexes of steps ``0..stop-1`` (and, when ``complete``, the loop visits of the whole trace)."""

    def __init__(self, stop: int = 0) -> None:
        self.stop = stop
        self.complete = False
        self.frame_ids: Sequence[int] = range(0)  # sorted frame ids (a range or a memoryview); a frame's position is its dense id
        self.frames = Groups.empty()  # group d: the steps of frame frame_ids[d] (no keys: d is the group)
        self.lines = Groups.empty()  # key: file << 32 + line; items: line steps
        # the history of each (frame, variable): a frame's groups are var_frames[d]:var_frames[d + 1], in the
        # order its names first appear, group g holds the steps that change (or delete) var_names[g]
        self.vars = Groups.empty()  # no keys: a group is found from its frame (var_frames) and name (var_names)
        self.var_frames = memoryview(array("i", [0]))  # per dense frame: its first var group
        self.var_names = memoryview(array("H"))  # per var group: its canonical name (``names``)
        self.var_values = memoryview(array("i"))  # per var item: string id of the value, -1 deleted
        self.names: list[str] = []  # canonical names (the low half of a var key)
        self.name_index: dict[str, int] = {}
        self.change_checkpoints = memoryview(array("q", [0]))
        # complete only
        self.loop_entries = Groups.empty()  # key: dense frame << 32 + header line; items: steps entering the loop
        self.loop_starts = Groups.empty()  # same keys: the header visits that start an iteration
        self.exception_steps = array("i")

    def dense_frame(self, frame: int) -> int:
        ids = self.frame_ids
        if type(ids) is range:
            return frame - ids.start if ids.start <= frame < ids.stop else -1
        d = bisect_left(ids, frame)
        return d if d < len(ids) and ids[d] == frame else -1

    def frame_bounds(self, frame: int) -> tuple[int, int]:
        """Where ``frame``'s steps lie in ``frames.items`` (``(0, 0)``: no indexed step)."""
        d = self.dense_frame(frame)
        return self.frames.bounds(d)

    def change_start(self, nchanges, step: int) -> int:
        """The position of step ``step``'s first change in the change columns (a checkpoint plus < 64 counts)."""
        base = step >> CHECKPOINT_SHIFT
        return self.change_checkpoints[base] + sum(nchanges[base << CHECKPOINT_SHIFT:step])

    def var_groups(self, frame: int) -> range:
        """The var groups of ``frame``, in the order its names first appear (empty: none indexed)."""
        d = self.dense_frame(frame)
        return range(self.var_frames[d], self.var_frames[d + 1]) if 0 <= d < len(self.var_frames) - 1 else range(0)

    def var_group(self, frame: int, name: str) -> int:
        canon = self.name_index.get(name)
        groups = self.var_groups(frame)
        if canon is None or not groups:
            return -1
        try:  # a frame has a handful of names: a scan of them, in C
            return groups.start + self.var_names[groups.start:groups.stop].tolist().index(canon)
        except ValueError:
            return -1


def build_prefix(session: "Session", stop: int, complete: bool = False) -> StepIndex:
    """The indexes of steps ``0..stop-1`` of a short prefix (``complete``: a whole short trace), in
    plain Python, without numpy: the first screen of a long trace paints from these while the rest
    is built (``build_index``, in a worker), and a short trace needs numpy at no point.

    The same arrays as ``build_index(session, stop, complete)`` builds (a test compares them), in a
    Python loop over the steps: for a few thousand steps, quicker than importing numpy.
    """
    s = session
    index = StepIndex(stop)
    ctx, kind_line = s._ctx[:stop], s._kind_line[:stop]
    e_frame = s._e_frame[:max(ctx) + 1 if stop else 0]  # the entries the steps use (added in order)
    frame_ids = sorted(set(e_frame))
    if frame_ids and frame_ids[-1] - frame_ids[0] == len(frame_ids) - 1:
        index.frame_ids = range(frame_ids[0], frame_ids[-1] + 1)
    else:
        index.frame_ids = memoryview(array("i", frame_ids))
    dense_of_id = {frame: d for d, frame in enumerate(frame_ids)}
    dense_of_entry = [dense_of_id[frame] for frame in e_frame]
    dense = [dense_of_entry[entry] for entry in ctx]

    per_frame: list[list[int]] = [[] for _ in frame_ids]
    for step, d in enumerate(dense):
        per_frame[d].append(step)
    index.frames = _groups_of(array("q"), per_frame)

    per_line: dict[int, list[int]] = {}
    code_file, e_code = s._code_file, s._e_code
    for step, item in enumerate(kind_line):
        if item & 3 == 1:
            per_line.setdefault((code_file[e_code[ctx[step]]] << 32) + (item >> 2), []).append(step)
    line_keys = sorted(per_line)
    index.lines = _groups_of(array("q", line_keys), [per_line[key] for key in line_keys])

    # names numbered as build_index numbers them: change names by string id, then deleted names as they come
    nchanges, change_name, change_value, strings = s._nchanges, s._change_name, s._change_value, s._strings
    total = sum(nchanges[:stop])
    name_index: dict[str, int] = {}
    canon = {i: name_index.setdefault(strings[i], len(name_index))
             for i in sorted(set(change_name[:total]) - s._value_ids)}
    deletions = {step: s._rare[step][0] for step in s._deletions if step < stop}
    for step in sorted(deletions):
        for name in deletions[step]:
            name_index.setdefault(name, len(name_index))
    groups: dict[tuple[int, int], int] = {}  # (dense frame, name) -> group, in first-appearance order
    group_frame, group_name, group_steps, group_values = [], [], [], []

    def add(d: int, name: int, step: int, value: int) -> None:
        g = groups.get((d, name))
        if g is None:
            g = groups[d, name] = len(group_frame)
            group_frame.append(d), group_name.append(name), group_steps.append([]), group_values.append([])
        group_steps[g].append(step)
        group_values[g].append(value)

    j = 0
    for step in range(stop):
        count = nchanges[step]
        for k in range(j, j + count):
            if change_name[k] not in s._value_ids:
                add(dense[step], canon[change_name[k]], step, change_value[k])
        j += count
        for name in deletions.get(step, ()):  # a step's deletions come after its changes
            add(dense[step], name_index[name], step, -1)
    order = sorted(range(len(group_frame)), key=group_frame.__getitem__)  # stable: first appearance per frame
    index.vars = _groups_of(array("q"), [group_steps[g] for g in order])
    index.var_values = memoryview(array("i", chain.from_iterable(group_values[g] for g in order)))
    index.var_names = memoryview(array("H" if len(name_index) <= 1 << 16 else "i", (group_name[g] for g in order)))
    per_frame_groups = [0] * len(frame_ids)
    for d in group_frame:
        per_frame_groups[d] += 1
    index.var_frames = memoryview(array("i", accumulate(per_frame_groups, initial=0)))
    index.names = list(name_index)
    index.name_index = name_index
    block = 1 << CHECKPOINT_SHIFT
    index.change_checkpoints = memoryview(array("q", accumulate(
        (sum(nchanges[start:start + block]) for start in range(0, (stop >> CHECKPOINT_SHIFT) << CHECKPOINT_SHIFT, block)),
        initial=0)))
    if complete:
        index.complete = True
        index.exception_steps = array("i", (step for step, item in enumerate(kind_line) if item & 3 == 3))
        _loops_in_python(s, index, kind_line, ctx, per_frame)
    return index


def _loops_in_python(s: "Session", index: StepIndex, kind_line, ctx, per_frame: list[list[int]]) -> None:
    """``_index_loops`` in plain Python, for ``build_prefix``: the same visits, decided the same way."""
    ends = {(file << 32) + header: loop.end for file, loops in s._loop_headers.items() for header, loop in loops.items()}
    if not ends:
        return
    code_file, e_code = s._code_file, s._e_code
    visits: dict[int, list[tuple[int, bool, bool]]] = {}  # (frame << 32) + header -> (step, enters, starts)
    for d, steps in enumerate(per_frame):
        line_steps = [step for step in steps if kind_line[step] & 3 == 1]
        for k, step in enumerate(line_steps):
            line = kind_line[step] >> 2
            end = ends.get((code_file[e_code[ctx[step]]] << 32) + line)
            if end is None:
                continue
            following = kind_line[line_steps[k + 1]] >> 2 if k + 1 < len(line_steps) else None
            starts = following is not None and line < following <= end
            previous = kind_line[line_steps[k - 1]] >> 2 if k else None
            group = visits.setdefault((d << 32) + line, [])
            enters = not group or previous is None or previous < line or previous > end
            group.append((step, enters, starts))
    if not visits:
        return
    keys = array("q", sorted(visits))
    index.loop_entries = _groups_of(keys, [[step for step, enters, _ in visits[key] if enters] for key in keys])
    index.loop_starts = _groups_of(keys, [[step for step, _, starts in visits[key] if starts] for key in keys])


def _groups_of(keys: array, groups: list[list[int]]) -> Groups:
    """``Groups`` of the given lists of steps, in order."""
    return Groups(keys, array("i", accumulate(map(len, groups), initial=0)), array("i", chain.from_iterable(groups)))


def find_change(session: "Session", text: str, first: int, backward: bool, whole_word: bool = False) -> int:
    """The position (in the change columns) of the first change at or after ``first`` (``backward``:
    the last one before ``first``) whose name or value contains ``text``, return values left out; -1: none.
    ``whole_word``: only where ``text`` is not part of a longer word (see ``_strings_containing``).

    The strings that contain ``text`` are found in the string table's UTF-8 bytes (a byte-wise
    match of the whole table), then marked per change by two gathers: no Python loop over the
    steps or the strings, so a search of 2M steps takes a fraction of a second.
    """
    import numpy as np

    s = session
    names, values = _np(s._change_name), _np(s._change_value)
    names, values = (names[first:], values[first:]) if not backward else (names[:first], values[:first])
    if not len(names):
        return -1
    contains = _strings_containing(s._strings, text, whole_word)
    if s._value_ids:  # the pseudo-name of return values is not searched, nor are the values it carries
        ids = np.fromiter(s._value_ids, np.int64)
        mentions = contains[names] & ~np.isin(names, ids)
        mentions |= contains[values] & ~np.isin(names, ids)
    else:
        mentions = contains[names] | contains[values]
    found = np.flatnonzero(mentions)
    if not len(found):
        return -1
    return int(found[-1]) if backward else first + int(found[0])


def _strings_containing(strings, text: str, whole_word: bool = False):
    """Per string id of a ``duck.trace.binary.StringTable``: whether the string contains ``text``.

    ``whole_word``: only an occurrence that is not part of a longer word counts: where ``text`` begins
    (ends) with a word character (a letter, digit, ``_`` or any non-ASCII character), the character
    before (after) it is not one, or the string begins (ends) there; so ``s`` is found in ``s`` and
    ``'s'`` but not in ``sum``, ``4`` in ``[4, 5]`` but not in ``42`` (as a whole word does in vim).
    """
    import numpy as np

    hit = np.zeros(len(strings), bool)
    encoded = text.encode("utf-8", "surrogatepass")
    needle = np.frombuffer(encoded, np.uint8)
    width = len(needle)
    check_before = whole_word and width and _word_bytes()[encoded[0]]
    check_after = whole_word and width and _word_bytes()[encoded[-1]]
    for first, blob, ends, gap in strings.blobs():
        ends = np.frombuffer(ends, np.uint32).astype(np.int64) if len(ends) else np.zeros(0, np.int64)
        data = np.frombuffer(blob, np.uint8)
        if not width:
            hit[first:first + len(ends)] = True
            continue
        room = len(data) - width + 1
        if room <= 0:
            continue
        match = data[:room] == needle[0]
        for k in range(1, width):
            match &= data[k:k + room] == needle[k]
        at = np.flatnonzero(match)
        which = np.searchsorted(ends, at, side="right")  # the string whose bytes (or separator) hold the match
        owner = np.minimum(which, len(ends) - 1)
        stop = ends[owner] - gap  # where the string's own bytes end
        inside = (at + width <= stop) & (which < len(ends))  # not across two strings
        if check_before:
            start = np.where(owner > 0, ends[np.maximum(owner - 1, 0)], 0)
            inside &= (at == start) | ~_word_bytes()[data[np.maximum(at - 1, 0)]]
        if check_after:
            inside &= (at + width == stop) | ~_word_bytes()[data[np.minimum(at + width, len(data) - 1)]]
        hit[first + which[inside]] = True
    return hit


@cache
def _word_bytes():
    """Per byte value: whether it belongs to a word (ASCII letters, digits, ``_``, any byte of a
    non-ASCII character's UTF-8)."""
    import numpy as np

    word = np.zeros(256, bool)
    for byte in b"0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
        word[byte] = True
    word[0x80:] = True
    return word



def _np(column, stop: int | None = None):
    """A column (``array``) as a numpy array without copying, cut to ``stop`` items."""
    import numpy as np

    out = np.frombuffer(column, dtype=column.typecode) if len(column) else np.zeros(0, dtype=column.typecode)
    return out if stop is None else out[:stop]


def _group_sorted(sorted_keys) -> tuple:
    """Unique keys and offsets of an already sorted key array."""
    import numpy as np

    count = len(sorted_keys)
    if not count:
        return np.zeros(0, np.int64), np.zeros(1, np.int32)
    first = np.empty(count, bool)
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return sorted_keys[starts].astype(np.int64), np.append(starts, count).astype(_offset_type(count))


def _offset_type(count: int):
    import numpy as np

    return np.int32 if count < 1 << 31 else np.int64


def _name_type(count: int):
    """The dtype of ``StepIndex.var_names`` for ``count`` names (``array`` typecode ``H`` or ``i``)."""
    import numpy as np

    return np.uint16 if count <= 1 << 16 else np.int32


def _stable_order(keys):
    """A stable argsort, on the narrowest integer type that holds the keys' range (numpy's radix
    sort for 16 bits, else timsort, which is quick on the runs steps make)."""
    import numpy as np

    if not len(keys):
        return np.zeros(0, np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low < 1 << 16:
        return np.argsort((keys - low).astype(np.uint16), kind="stable")
    if high - low < 1 << 31:
        return np.argsort((keys - low).astype(np.int32), kind="stable")
    return np.argsort(keys, kind="stable")


def _pair_keys(high, low, low_count: int):
    """``high * low_count + low`` as int64: one sortable key per pair, in (high, low) order."""
    import numpy as np

    return high.astype(np.int64) * max(low_count, 1) + low


def build_index(session: "Session", stop: int, complete: bool) -> StepIndex:
    """The indexes of steps ``0..stop-1`` of ``session`` (``complete``: ``stop`` is the trace's length)."""
    import numpy as np

    s = session
    index = StepIndex(stop)
    kind_line = _np(s._kind_line, stop).astype(np.int32)
    kind = (kind_line & 3).astype(np.int8)
    line = kind_line >> 2
    ctx = _np(s._ctx, stop)
    e_frame = _np(s._e_frame)[:int(ctx.max()) + 1 if stop else 0]  # the entries the steps use (added in order)
    frame_ids, dense_of_entry = np.unique(e_frame, return_inverse=True)
    dense_of_entry = dense_of_entry.reshape(-1).astype(np.int32)
    dense = dense_of_entry[ctx] if stop else np.zeros(0, np.int32)
    # frame ids are usually numbered 0, 1, 2... as frames start: then a range (no array) maps them
    consecutive = len(frame_ids) and int(frame_ids[-1]) - int(frame_ids[0]) == len(frame_ids) - 1
    index.frame_ids = range(int(frame_ids[0]), int(frame_ids[-1]) + 1) if consecutive else memoryview(frame_ids)

    # steps per frame
    order = _stable_order(dense)
    frame_offsets = np.zeros(len(frame_ids) + 1, _offset_type(stop))
    np.cumsum(np.bincount(dense, minlength=len(frame_ids)), out=frame_offsets[1:])
    frame_steps = order.astype(np.int32)
    index.frames = Groups(np.zeros(0, np.int64), frame_offsets, frame_steps)  # keyed by position: no keys

    # line events per (file, line)
    line_steps = np.flatnonzero(kind == 1).astype(np.int32)
    code_file = _np(s._code_file)
    if len(code_file) and (code_file == code_file[0]).all():  # one file: no per-step lookup
        line_file = np.full(len(line_steps), code_file[0], np.int64)
    else:
        line_file = code_file[_np(s._e_code)[ctx[line_steps]]].astype(np.int64)
    lines_of = line[line_steps]
    line_keys = (line_file << 32) + lines_of
    low = int(lines_of.min()) if len(lines_of) else 0
    by_line = _stable_order(_pair_keys(line_file, lines_of - low, int(lines_of.max()) - low + 1 if len(lines_of) else 1))
    keys, offsets = _group_sorted(line_keys[by_line])
    index.lines = Groups(keys, offsets, line_steps[by_line])
    del line_file, lines_of, by_line, keys, offsets

    del order, kind_line
    _index_vars(s, index, stop, dense, len(frame_ids))
    nchanges = _np(s._nchanges, stop)
    checkpoints = np.zeros((stop >> CHECKPOINT_SHIFT) + 1, np.int64)
    np.cumsum(np.add.reduceat(nchanges, np.arange(0, stop, 1 << CHECKPOINT_SHIFT), dtype=np.int64)[: len(checkpoints) - 1]
              if stop else np.zeros(0, np.int64), out=checkpoints[1:])
    index.change_checkpoints = memoryview(checkpoints)
    if complete:
        index.complete = True
        index.exception_steps = array("i", np.flatnonzero(kind == 3).astype(np.int32).tobytes())
        _index_loops(s, index, kind, line, dense, frame_steps, frame_offsets, line_steps, line_keys)
    return index


def _index_vars(s: "Session", index: StepIndex, stop: int, dense, nframes: int) -> None:
    """The history of every (frame, name) and each frame's names in first-appearance order."""
    import numpy as np

    nchanges = _np(s._nchanges, stop)
    total = int(nchanges.sum(dtype=np.int64))
    names = _np(s._change_name, total)
    values = _np(s._change_value, total).astype(np.int32)
    change_step = np.repeat(np.arange(stop, dtype=np.int32), nchanges)
    if s._value_ids:
        keep = ~np.isin(names, np.fromiter(s._value_ids, np.int64))
        names, values, change_step = names[keep], values[keep], change_step[keep]
    # one canonical number per name text (a name may have several string ids in a trace)
    name_index: dict[str, int] = {}
    strings = s._strings
    canon = np.zeros(0, np.int64)
    if len(names):
        present = np.zeros(int(names.max()) + 1, bool)
        present[names] = True
        ids = np.flatnonzero(present)
        lookup = np.zeros(len(present), np.int64)
        lookup[ids] = [name_index.setdefault(strings[i], len(name_index)) for i in ids.tolist()]
        canon = lookup[names]
    deletions = [(step, name) for step in s._deletions if step < stop for name in s._rare[step][0]]
    if deletions:
        del_step = np.fromiter((step for step, _ in deletions), np.int32, len(deletions))
        del_canon = np.fromiter((name_index.setdefault(name, len(name_index)) for _, name in deletions),
                                np.int64, len(deletions))
        # a step's deletions come after its changes
        position = np.concatenate((change_step.astype(np.int64) * 2, del_step.astype(np.int64) * 2 + 1))
        merged = np.argsort(position, kind="stable")
        change_step = np.concatenate((change_step, del_step))[merged]
        canon = np.concatenate((canon, del_canon))[merged]
        values = np.concatenate((values, np.full(len(deletions), -1, np.int32)))[merged]
    frame_of_change = dense[change_step] if len(change_step) else np.zeros(0, np.int32)
    keys = _pair_keys(frame_of_change, canon, len(name_index))
    del canon
    by_var = _stable_order(keys)
    group_keys, offsets = _group_sorted(keys[by_var])
    del keys
    # the groups of each frame in the order their names first appear: by (frame, first change)
    first_seen = by_var[offsets[:-1]]  # the first change of each group, as a position in step order
    group_frame = group_keys // max(len(name_index), 1)
    regroup = np.lexsort((first_seen, group_frame))
    lengths = np.diff(offsets)[regroup]
    new_offsets = np.zeros(len(lengths) + 1, offsets.dtype)
    np.cumsum(lengths, out=new_offsets[1:])
    gather = by_var[np.repeat(offsets[:-1][regroup] - new_offsets[:-1], lengths) + np.arange(len(by_var))] \
        if len(by_var) else by_var
    del by_var, first_seen
    index.vars = Groups(np.zeros(0, np.int64), new_offsets, change_step[gather])
    index.var_values = memoryview(values[gather])
    var_frames = np.zeros(nframes + 1, np.int32)
    np.cumsum(np.bincount(group_frame, minlength=nframes), out=var_frames[1:])
    index.var_frames = memoryview(var_frames)
    index.var_names = memoryview((group_keys % max(len(name_index), 1))[regroup].astype(_name_type(len(name_index))))
    index.names = [""] * len(name_index)
    for name, number in name_index.items():
        index.names[number] = name
    index.name_index = name_index


def _index_loops(s: "Session", index: StepIndex, kind, line, dense, frame_steps, frame_offsets, line_steps,
                 line_keys) -> None:
    """Loop-header visits: per (frame, header), the visits entering the loop and those starting an iteration.

    A visit starts an iteration when the frame's next line step is inside the loop's body (events
    between them are the header's own: an `async for` awaiting ``__anext__``, possibly suspending); it
    enters the loop anew when the frame's previous line step was outside the loop (or there was
    none, or it is the frame's first visit of that header).
    """
    import numpy as np

    headers = sorted(((file << 32) + header, loop.end)
                     for file, loops in s._loop_headers.items() for header, loop in loops.items())
    if not headers or not len(line_steps):
        return
    header_keys = np.array([key for key, _ in headers], np.int64)
    header_ends = np.array([end for _, end in headers], np.int64)
    at = np.minimum(np.searchsorted(header_keys, line_keys), len(header_keys) - 1)
    is_visit = header_keys[at] == line_keys
    visits = line_steps[is_visit]
    if not len(visits):
        return
    header = line[visits]
    end = header_ends[at[is_visit]]
    frame = dense[visits]
    stop = len(kind)
    position = np.empty(stop, np.int32)  # a step's place among its frame's steps (in frame_steps)
    position[frame_steps] = np.arange(stop, dtype=np.int32)
    place = position[visits]
    group_start, group_stop = frame_offsets[frame], frame_offsets[frame + 1]
    # the frame's next line step: the earliest line step at or after place + 1 in frame order (an
    # `async for` header awaits __anext__ first: a StopIteration, or a suspension and a resumption)
    is_line = kind[frame_steps] == 1
    soonest = np.minimum.accumulate(np.where(is_line, np.arange(stop, dtype=np.int32), stop)[::-1])[::-1]
    after = np.where(place + 1 < stop, soonest[np.minimum(place + 1, stop - 1)], stop)
    has_next = after < group_stop
    next_line = line[frame_steps[np.minimum(after, stop - 1)]]
    starts_iteration = has_next & (header < next_line) & (next_line <= end)
    # the frame's previous line step: the latest line step at or before place - 1 in frame order
    latest = np.maximum.accumulate(np.where(is_line, np.arange(stop, dtype=np.int32), -1))
    previous = np.where(place > 0, latest[np.maximum(place - 1, 0)], -1)
    has_previous = (place > 0) & (previous >= group_start)
    previous_line = line[frame_steps[np.maximum(previous, 0)]]
    enters = ~has_previous | (previous_line < header) | (previous_line > end)
    visit_keys = (frame.astype(np.int64) << 32) + header
    by_key = _stable_order(visit_keys)
    sorted_keys = visit_keys[by_key]
    keys, offsets = _group_sorted(sorted_keys)
    enters = enters[by_key]
    enters[offsets[:-1]] = True  # a frame's first visit of a header always enters the loop
    steps = visits[by_key].astype(np.int32)
    index.loop_entries = Groups(keys, _counts_to_offsets(enters, offsets), steps[enters])
    starts = starts_iteration[by_key]
    index.loop_starts = Groups(keys, _counts_to_offsets(starts, offsets), steps[starts])


def _counts_to_offsets(selected, offsets):
    """Offsets of the selected items of each group (groups given by ``offsets`` over ``selected``)."""
    import numpy as np

    before = np.zeros(len(selected) + 1, np.int64)
    np.cumsum(selected, out=before[1:])
    return before[offsets].astype(_offset_type(len(selected)))
