"""A recorded run and the questions a debugger asks of it, answered without re-running anything.

``Session`` keeps a trace's columns as the v2 format stores them (docs/trace-format.md; a v1
trace is turned into the same columns) and builds its indexes from those integers with whole-array
operations (``duck.session_index``: numpy, imported once a build goes past a short prefix, which
plain Python indexes for the first screen), over as long a prefix of the
steps as a query needs (``index_all`` finishes them, the TUI in a worker), so
every query used while stepping (state at step i, the call stack, the last change of a
variable, step over/into/out in both directions, run to a line, loop iterations, output so
far) costs O(log n) or O(frame size) once indexed, never O(trace length). The UI, the narrator, the model
explainer and the repair search all ask the session; none of them walks raw events.

This module has no Textual and no model: it is plain Python, tested without a terminal.
It does not format values for people (``duck.narration`` does) and does not record.
"""

from __future__ import annotations

import ast
import gc
import re
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Iterable, Iterator

from duck.session_index import CHECKPOINT_SHIFT, StepIndex  # numpy only once they build past a short prefix
from duck.trace.format import Trace, iter_records, missing_outcome
from duck.trace.store import _join_streams

KINDS = ("call", "line", "return", "exception")
_NO_PARENT = -1
#: The variable a path such as ``node.next.value`` or ``xs[0]`` starts from.
_PATH_ROOT = re.compile(r"[A-Za-z_]\w*")
#: Sessions at least this long are moved out of the cyclic GC's reach (``gc.freeze``) once loaded.
_FREEZE_AT_STEPS = 50_000
#: Steps ``Session.index_all`` adds at least per build (a query waits for at most one build).
_INDEX_BLOCK = 1 << 20
#: Steps a query indexes beyond what it needs (so stepping forward does not index one step at a time).
_INDEX_AHEAD = 4096
#: A build past the indexed prefix covers at least this many times the prefix (total work stays O(n)).
_INDEX_GROWTH = 2
#: A prefix of at most this many steps (or a whole trace that short) is indexed in plain Python
#: (``duck.session_index.build_prefix``): the first screen waits for no numpy.
_PREFIX_IN_PYTHON = 4096
#: A whole trace of at most this many steps is indexed in plain Python too: up to about here
#: that is quicker than importing numpy to build it (~5 us a step, against 70-100 ms for numpy's
#: import and build on the 2-core machine), so such a trace never imports numpy for its indexes.
#: The TUI indexes a trace this short before its first screen; a longer one, in a worker after it.
WHOLE_IN_PYTHON = 16_384


def _libc():
    """glibc's allocator controls, or None (another C library or system: the defaults stand)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


#: ``mallopt``'s parameter: blocks at least this big get their own pages (returned once freed).
_M_MMAP_THRESHOLD, _MAPPED_BLOCKS = -3, 1 << 20


def _map_large_blocks() -> None:
    """Have glibc give each block of 1 MiB or more its own pages, so an index build's temporaries
    go back to the system when freed. Without it glibc raises that threshold as big blocks are
    freed and keeps their pages: ~75 bytes/step resident after indexing 1M steps, and in a worker
    thread's arena ``malloc_trim`` cannot release them. (Costs the page faults of fresh pages.)"""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MAPPED_BLOCKS)


def _return_free_memory() -> None:
    """Hand the free pages of the heap back to the system (what a build freed below 1 MiB blocks)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@dataclass(frozen=True)
class Event:
    """One step of the recording, rebuilt from the session's columns."""

    step: int
    kind: str
    file: str
    line: int
    func: str
    depth: int
    frame: int
    parent: int | None
    changes: dict[str, str] = field(default_factory=dict)
    value: str | None = None
    exc_type: str | None = None
    exc_msg: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdin: str = ""
    deleted: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrameState:
    """One frame of the call stack at a given step, with its locals as safe reprs."""

    frame: int
    func: str
    file: str
    line: int
    depth: int
    call_step: int
    locals: dict[str, str]


@dataclass(frozen=True)
class LoopPosition:
    """Where a step stands in the loop around its line (iterations are 1-based)."""

    header_line: int
    end_line: int
    iteration: int
    total: int
    iteration_steps: Sequence[int]  # the step starting each iteration (a zero-copy StepRange)


@dataclass(frozen=True)
class Loop:
    """A ``for``/``while`` statement: its header line and the last line of its body."""

    header: int
    end: int


@dataclass
class _FrameInfo:
    func: str
    file: int
    parent: int
    depth: int
    call_step: int


class StepRange(Sequence):
    """A read-only, zero-copy slice of a step array (``LoopPosition.iteration_steps``, ``frame_steps``)."""

    __slots__ = ("_view",)

    def __init__(self, steps, start: int, stop: int) -> None:
        self._view = memoryview(steps)[start:stop]

    def __len__(self) -> int:
        return len(self._view)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self._view[index])
        return self._view[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._view)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StepRange):
            return self._view == other._view
        if isinstance(other, (tuple, list, array)):
            return tuple(self._view) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._view))

    def __repr__(self) -> str:
        return f"StepRange({list(self._view)!r})"


def find_loops(source: str) -> list[Loop]:
    """Every for/while loop of a module's source, with its header and last body line."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    loops = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            # the body's last line, not the statement's: an ``else:`` runs once after the loop, not in an iteration
            last = node.body[-1]
            loops.append(Loop(node.lineno, last.end_lineno or last.lineno))
    return loops


def _find_scopes(source: str) -> list[tuple[int, int]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
    ]


class _FrameInfos:
    """frame id -> ``_FrameInfo``, read from the frame-entry table on first use (no per-step pass;
    the frame's first step from the indexes where they reach it, else found in the columns)."""

    __slots__ = ("session", "cache")

    def __init__(self, session: "Session") -> None:
        self.session, self.cache = session, {}

    def __getitem__(self, frame: int) -> _FrameInfo:
        info = self.cache.get(frame)
        if info is None:
            s = self.session
            index = s._index
            start, stop = index.frame_bounds(frame)
            if start < stop:  # indexed: its first step, at once
                step = index.frames._items[start]
                entry = s._ctx[step]  # entries are added as their frames start: the first is the call's
            else:  # a frame the indexed prefix has not reached: a scan of the columns
                try:
                    entry = s._e_frame.index(frame)
                    step = s._ctx.index(entry)
                except ValueError:
                    raise KeyError(frame) from None
            code = s._e_code[entry]
            info = self.cache[frame] = _FrameInfo(s._funcs[s._code_func[code]], s._code_file[code],
                                                  s._e_parent[entry], s._e_depth[entry], step)
        return info

    def __contains__(self, frame: object) -> bool:
        try:
            self[frame]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True


class _PerStep:
    """A per-step column read through the frame-entry table: ``table[ctx[step]]``, or
    ``table[via[ctx[step]]]`` for what entries have through their code (no copy per step)."""

    __slots__ = ("table", "ctx", "via")

    def __init__(self, table, ctx: array, via: array | None = None) -> None:
        self.table, self.ctx, self.via = table, ctx, via

    def __getitem__(self, step: int) -> int:
        if self.via is None:
            return self.table[self.ctx[step]]
        return self.table[self.via[self.ctx[step]]]

    def __len__(self) -> int:
        return len(self.ctx)


class _KindLine:
    """The step kind (``shift=0``, ``mask=3``) or line (``shift=2``) out of the ``line << 2 | kind`` column."""

    __slots__ = ("column", "shift", "mask")

    def __init__(self, column: array, shift: int, mask: int) -> None:
        self.column, self.shift, self.mask = column, shift, mask

    def __getitem__(self, step: int) -> int:
        return (self.column[step] >> self.shift) & self.mask

    def __len__(self) -> int:
        return len(self.column)


class Session:
    """A trace plus indexes. Build with :meth:`load`, :meth:`from_trace` or :meth:`from_records`.

    The events are the trace's own columns (``duck.trace.binary.Columns``): per step
    ``line << 2 | kind`` and the frame entry, per entry its frame, code, depth and parent, per
    change a name and a value id in one string table. The indexes (steps per frame, per line,
    per variable) are built from those integers in one pass, never from per-event records.
    """

    def __init__(self) -> None:
        self.header: dict = {}
        self.outcome: dict = {}
        self.sources: dict[str, str] = {}
        self._files: list[str] = []
        self._file_index: dict[str, int] = {}
        self._funcs: list[str] = []
        self._func_index: dict[str, int] = {}
        self._strings: list[str] = []
        self._kind_line = array("i")
        self._ctx = array("i")
        self._nchanges = array("I")
        self._change_name = array("I")
        self._change_value = array("I")
        self._value_ids: frozenset[int] = frozenset()  # string ids of the pseudo-name that carries return values
        self._rare: dict[int, tuple] = {}
        self._written: dict[int, list] = {}
        self._set_entries(array("i"), array("i"), array("i"), array("i"), array("i"), array("i"))
        self._frames = _FrameInfos(self)
        self._index = StepIndex()  # the indexes of steps 0.._indexed-1 (replaced whole by longer ones)
        self._out_steps = array("i")
        self._out_ends = array("q")
        self._out_chunks: list[str] = []
        self._output: str | None = None
        self._err_steps = array("i")
        self._err_chunks: list[str] = []
        self._loops: dict[int, list[Loop]] = {}
        self._scopes: dict[int, list[tuple[int, int]]] = {}
        self._frame_starts: array | None = None  # each frame's first step, in order (built on first use)

    def _set_entries(self, frame: array, code: array, depth: array, parent: array, code_file: array,
                     code_func: array) -> None:
        """Frame-entry columns (and per code its file and function index), and the per-step views read through them."""
        self._e_frame, self._e_code, self._e_depth, self._e_parent = frame, code, depth, parent
        self._code_file, self._code_func = code_file, code_func
        self._kind = _KindLine(self._kind_line, 0, 3)
        self._line = _KindLine(self._kind_line, 2, -1)
        self._frame = _PerStep(frame, self._ctx)
        self._file = _PerStep(code_file, self._ctx, code)
        self._func = _PerStep(code_func, self._ctx, code)
        self._depth = _PerStep(depth, self._ctx)
        self._parent = _PerStep(parent, self._ctx)

    # ----------------------------------------------------------------- building
    @classmethod
    def load(cls, path: str | Path) -> "Session":
        """Load a trace file, v1 or v2 (raises ``duck.trace.format.TraceFormatError`` if it is not one)."""
        from duck.trace import binary

        try:
            v2 = binary.is_v2(path)
        except OSError:
            v2 = False  # iter_records reports the file it cannot read
        if v2:
            return cls.from_columns(binary.read_columns(path))
        return cls.from_records(iter_records(path))

    @classmethod
    def from_trace(cls, trace: Trace) -> "Session":
        return cls.from_records(trace.records())

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> "Session":
        """A session from v1 records (header, events, sources, outcome), through the v2 columns."""
        from duck.trace import binary

        return cls.from_columns(binary.columns_from_records(records))

    @classmethod
    def from_columns(cls, columns) -> "Session":
        """A session over the columns of a trace; the indexes are built as queries need them (``_ensure``)."""
        session = cls()
        session._read(columns)
        return session

    def _read(self, columns) -> None:
        self.header = columns.header
        self.sources = dict(columns.sources)
        self.outcome = columns.outcome
        strings = self._strings = columns.strings
        file_of_code = array("i", (self._intern_file(strings[i]) for i in columns.code_file))
        func_of_code = array("i", (self._intern_func(strings[i]) for i in columns.code_func))
        self._kind_line = columns.kind_line
        self._ctx = columns.ctx
        self._set_entries(columns.fid, columns.code, columns.depth, columns.parent, file_of_code, func_of_code)
        self._nchanges = columns.nchanges
        self._change_name, self._change_value = columns.names, columns.values
        self._value_ids = frozenset(columns.value_ids)
        self._rare, self._written = columns.rare, columns.outputs
        if not self.outcome:
            self.outcome = missing_outcome(len(self))
        self._index_output()
        self._prepare_index()

    def _intern_file(self, path: str) -> int:
        index = self._file_index.get(path)
        if index is None:
            index = self._file_index[path] = len(self._files)
            self._files.append(path)
        return index

    def _intern_func(self, name: str) -> int:
        index = self._func_index.get(name)
        if index is None:
            index = self._func_index[name] = len(self._funcs)
            self._funcs.append(name)
        return index

    def _prepare_index(self) -> None:
        """Find the loops of every recorded file; the per-step indexes are built later, in order, by ``_ensure``."""
        self._indexed = 0  # steps 0.._indexed-1 are in the indexes
        self._index_lock = threading.Lock()
        self._loop_headers: dict[int, dict[int, Loop]] = {}
        for path, index in self._file_index.items():
            source = self.sources.get(path)
            if source is None:
                continue
            loops = find_loops(source)
            self._loops[index] = loops
            self._scopes[index] = _find_scopes(source)
            if loops:
                self._loop_headers[index] = {loop.header: loop for loop in loops}
        self._deletions = sorted(s for s, (deleted, _exc) in self._rare.items() if deleted)

    @property
    def indexed_fraction(self) -> float:
        """How much of the trace the indexes cover (1.0 once every query can be answered at once:
        a whole short trace indexed in plain Python still lacks its loops, so it counts one step short)."""
        if not len(self) or self._index.complete:
            return 1.0
        return min(self._indexed, len(self) - 1) / len(self)

    def index_all(self, should_stop=lambda: False, progress=lambda: None) -> None:
        """Build the rest of the indexes (for a background thread; queries wait for at most one build).

        Each build covers a longer prefix (at least ``_INDEX_BLOCK`` more steps, at least
        ``_INDEX_GROWTH`` times the last, and the whole trace rather than leave less than that
        for a last build), ``progress()`` is called after each, and ``should_stop()`` true ends early.
        """
        while len(self) and not self._index.complete and not should_stop():
            stop = max(self._indexed + _INDEX_BLOCK, self._indexed * _INDEX_GROWTH)
            if len(self) - stop < stop:
                self._complete()
            else:
                self._ensure(stop)
            progress()

    def _complete(self) -> None:
        """Index the whole trace, with what only the whole trace has (loop visits, exception steps)."""
        if not self._index.complete and len(self):
            self._build(len(self), complete=True)

    def _ensure(self, upto: int) -> None:
        """Index at least the steps before ``upto`` (queries about the past need no more than that)."""
        if upto > self._indexed:
            self._build(upto, complete=False)

    def _build(self, upto: int, complete: bool) -> None:
        """Index a prefix of at least ``upto`` steps (``complete``: the whole trace, loops included).

        The indexes of a longer prefix are built whole (``duck.session_index.build_index``; a
        short prefix, even of a whole short trace, in plain Python: ``build_prefix``) and then
        replace the old ones at once, so a query never sees half-built indexes.
        """
        with self._index_lock:
            n = len(self)
            if self._index.complete or (not complete and upto <= self._indexed):
                return  # another thread built it meanwhile
            stop = n if complete else min(n, max(upto, self._indexed + _INDEX_AHEAD, self._indexed * _INDEX_GROWTH))
            from duck.session_index import build_index, build_prefix

            if stop <= _PREFIX_IN_PYTHON or (stop == n and n <= WHOLE_IN_PYTHON):
                self._index = build_prefix(self, stop, complete=stop == n)
            else:
                if stop >= _FREEZE_AT_STEPS:
                    _map_large_blocks()
                self._index = build_index(self, stop, complete=stop == n)
            self._indexed = stop
            if stop >= _FREEZE_AT_STEPS:
                _return_free_memory()
            if self._index.complete and n >= _FREEZE_AT_STEPS:
                gc.freeze()

    def _index_output(self) -> None:
        for step in sorted(self._written):
            stdout = self._stream(step, "stdout")
            if stdout:
                self._out_steps.append(step)
                self._out_chunks.append(stdout)
                previous = self._out_ends[-1] if self._out_ends else 0
                self._out_ends.append(previous + len(stdout))
            stderr = self._stream(step, "stderr")
            if stderr:
                self._err_steps.append(step)
                self._err_chunks.append(stderr)

    def _stream(self, step: int, stream: str) -> str:
        """What the program wrote to (``stdin``: read from) ``stream`` during ``step``."""
        return _join_streams(self._written.get(step, ())).get(stream, "")

    def _change_range(self, step: int) -> range:
        """The positions of the event at ``step``'s changes in the change columns."""
        self._ensure(step + 1)  # the change checkpoints are built with the indexes
        first = self._index.change_start(self._nchanges, step)
        return range(first, first + self._nchanges[step])

    def _changes(self, step: int) -> Iterator[tuple[str, str]]:
        """(name, safe repr) of each change the event at ``step`` reports (its return value left out)."""
        strings, names, values = self._strings, self._change_name, self._change_value
        for j in self._change_range(step):
            if names[j] not in self._value_ids:
                yield strings[names[j]], strings[values[j]]

    def _return_value(self, step: int) -> str | None:
        names = self._change_name
        for j in self._change_range(step):
            if names[j] in self._value_ids:
                return self._strings[self._change_value[j]]
        return None

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self._kind)

    def first(self) -> int:
        return 0

    def last(self) -> int:
        return max(len(self._kind) - 1, 0)

    def clamp(self, step: int) -> int:
        return min(max(step, 0), self.last())

    @property
    def files(self) -> list[str]:
        return list(self._files)

    def source(self, file: str) -> str:
        """The recorded text of ``file`` ('' when the trace does not carry it)."""
        return self.sources.get(file, "")

    def event(self, step: int) -> Event:
        deleted, exc = self._rare.get(step) or (None, None)
        parent = self._parent[step]
        return Event(
            step=step,
            kind=KINDS[self._kind[step]],
            file=self._files[self._file[step]],
            line=self._line[step],
            func=self._funcs[self._func[step]],
            depth=self._depth[step],
            frame=self._frame[step],
            parent=None if parent == _NO_PARENT else parent,
            changes=dict(self._changes(step)),
            value=self._return_value(step),
            exc_type=exc[0] if exc else None,
            exc_msg=exc[1] if exc else None,
            stdout=self._stream(step, "stdout"),
            stderr=self._stream(step, "stderr"),
            stdin=self._stream(step, "stdin"),
            deleted=tuple(deleted or ()),
        )

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[Event]:
        stop = len(self) if stop is None else min(stop, len(self))
        for step in range(max(start, 0), stop):
            yield self.event(step)

    def kind(self, step: int) -> str:
        return KINDS[self._kind[step]]

    def line(self, step: int) -> int:
        return self._line[step]

    def file(self, step: int) -> str:
        return self._files[self._file[step]]

    def frame(self, step: int) -> int:
        return self._frame[step]

    def depth(self, step: int) -> int:
        return self._depth[step]

    def frame_call_step(self, frame: int) -> int:
        return self._frames[frame].call_step

    def frame_steps(self, frame: int) -> StepRange:
        """Every step of one frame activation, in order (a read-only view, not a copy)."""
        self._complete()
        index = self._index
        return StepRange(index.frames.items, *index.frame_bounds(frame))

    def frame_end_step(self, frame: int) -> int:
        self._complete()
        return self._frame_end(frame)

    def _frame_end(self, frame: int) -> int:
        index = self._index
        start, stop = index.frame_bounds(frame)
        if start == stop:
            raise KeyError(frame)
        return index.frames._items[stop - 1]

    def frames_started(self, first: int, last: int) -> int:
        """How many frame activations begin at steps ``first..last`` (a call counts once, however often it resumes)."""
        if self._frame_starts is None:
            self._complete()
            frames = self._index.frames
            self._frame_starts = array("i", sorted(frames.items[frames.offsets[g]]
                                                   for g in range(len(frames.offsets) - 1)
                                                   if frames.offsets[g] < frames.offsets[g + 1]))
        return max(bisect_right(self._frame_starts, last) - bisect_left(self._frame_starts, first), 0)

    def frame_parent(self, frame: int) -> int | None:
        parent = self._frames[frame].parent
        return None if parent == _NO_PARENT else parent

    def frame_func(self, frame: int) -> str:
        return self._frames[frame].func

    def frame_file(self, frame: int) -> str:
        return self._files[self._frames[frame].file]

    def frame_line(self, frame: int, step: int) -> int:
        """The line ``frame`` is at by ``step`` (its latest event at or before it); O(log n)."""
        return self._frame_line_at(frame, step)

    def frame_chain(self, step: int, limit: int | None = None) -> list[int]:
        """Frame ids from the current frame at ``step`` outwards (at most ``limit``), without locals."""
        chain: list[int] = []
        frame = self._frame[step]
        while frame != _NO_PARENT and frame in self._frames and (limit is None or len(chain) < limit):
            chain.append(frame)
            frame = self._frames[frame].parent
        return chain

    # ------------------------------------------------------------------- state
    def _frame_line_at(self, frame: int, step: int) -> int:
        self._ensure(step + 1)
        index = self._index
        start, stop = index.frame_bounds(frame)
        if start == stop:
            raise KeyError(frame)
        steps = index.frames._items
        return self._line[steps[max(bisect_right(steps, step, start, stop) - 1, start)]]

    def locals_at(self, step: int, frame: int | None = None) -> dict[str, str]:
        """Every local of ``frame`` (the current one by default) as it is at ``step``."""
        self._ensure(step + 1)
        frame = self._frame[step] if frame is None else frame
        index = self._index
        variables = index.vars
        steps, values, names, strings = variables._items, index.var_values, index.var_names, self._strings
        offsets = variables._offsets
        result = {}
        for g in index.var_groups(frame):
            start = offsets[g]
            at = bisect_right(steps, step, start, offsets[g + 1]) - 1
            if at >= start and values[at] >= 0:
                result[index.names[names[g]]] = strings[values[at]]
        return result

    def _history(self, frame: int, name: str, step: int):
        """``(index, start, at)``: the history of ``name`` in ``frame`` starts at item ``start`` of
        ``index.vars``, and ``at`` is its latest change at or before ``step`` (``start - 1``: none).

        Positions are only good in the ``index`` they come with (a worker may replace
        ``self._index`` by a longer one at any time)."""
        self._ensure(step + 1)
        index = self._index
        start, stop = index.vars.bounds(index.var_group(frame, name))
        return index, start, bisect_right(index.vars._items, step, start, stop) - 1

    def _history_index(self, frame: int, name: str, step: int) -> int:
        _index, start, at = self._history(frame, name, step)
        return at - start

    def _value(self, frame: int, name: str, step: int) -> str | None:
        index, start, at = self._history(frame, name, step)
        return None if at < start else self._text(index.var_values[at])

    def _text(self, value: int) -> str | None:
        return None if value < 0 else self._strings[value]

    def _owner(self, name: str, step: int, frame: int | None) -> int | None:
        """The frame a name refers to: the given one, else the innermost on the stack that has it."""
        if frame is not None:
            return frame
        current: int | None = self._frame[step]
        while current is not None and current != _NO_PARENT:
            if self._history_index(current, name, step) >= 0:
                return current
            current = self._frames[current].parent
        return None

    def value_at(self, name: str, step: int, frame: int | None = None) -> str | None:
        """The safe repr of ``name`` at ``step`` (None if it has no value there)."""
        owner = self._owner(name, step, frame)
        return None if owner is None else self._value(owner, name, step)

    def last_change(self, name: str, step: int, frame: int | None = None) -> int | None:
        """The step, at or before ``step``, whose event reports the latest change of ``name``.

        ``name`` may be a path into a variable (``node.next.value``, ``xs[0]``, as a watch
        writes it): then it is the latest recorded value of the variable whose part at that
        path differs from the one before (an attribute set in a method counts, as the
        object's recorded value changes in every frame holding it).
        """
        match = _PATH_ROOT.match(name)
        root = match.group() if match else name
        owner = self._owner(root, step, frame)
        if owner is None:
            return None
        index, start, at = self._history(owner, root, step)
        if at < start:
            return None
        steps = index.vars._items
        if root == name:
            return steps[at]
        from duck.watch import watch_text

        values = index.var_values

        def part(i: int) -> str | None:
            text = self._text(values[i])
            if text is None:
                return None
            shown, ok = watch_text(name, {root: text})
            return shown if ok else None

        current = part(at)
        while at > start:
            previous = part(at - 1)
            if previous != current:
                return steps[at]
            at -= 1
        return steps[start] if current is not None else None

    def history(self, name: str, frame: int) -> list[tuple[int, str | None]]:
        """Every (step, value) ``name`` took in one frame activation."""
        self._complete()
        index = self._index
        start, stop = index.vars.bounds(index.var_group(frame, name))
        return list(zip(index.vars._items[start:stop], map(self._text, index.var_values[start:stop])))

    def changes_at(self, step: int) -> dict[str, tuple[str | None, str | None]]:
        """name -> (value before, value after) for what the event at ``step`` reports changed."""
        frame = self._frame[step]
        result: dict[str, tuple[str | None, str | None]] = {}
        for name, new in self._changes(step):
            result[name] = (self._value(frame, name, step - 1), new)
        for name in (self._rare.get(step) or (None,))[0] or ():
            result[name] = (self._value(frame, name, step - 1), None)
        return result

    def stack(self, step: int) -> list[FrameState]:
        """The recorded call stack at ``step``, outermost frame first."""
        chain = []
        frame: int = self._frame[step]
        while frame != _NO_PARENT and frame in self._frames:
            chain.append(frame)
            frame = self._frames[frame].parent
        states = []
        for frame in reversed(chain):
            info = self._frames[frame]
            states.append(FrameState(
                frame=frame, func=info.func, file=self._files[info.file],
                line=self._frame_line_at(frame, step), depth=info.depth,
                call_step=info.call_step, locals=self.locals_at(step, frame),
            ))
        return states

    # ---------------------------------------------------------------- output
    def output_until(self, step: int) -> str:
        """Everything the program wrote to stdout up to and including ``step``."""
        count = bisect_right(self._out_steps, step)
        if count == 0:
            return ""
        if self._output is None:
            self._output = "".join(self._out_chunks)
        return self._output[: self._out_ends[count - 1]]

    def output_between(self, first: int, last: int) -> str:
        """What the program wrote to stdout at steps ``first..last`` inclusive (O(log n + chunks))."""
        lo = bisect_left(self._out_steps, first)
        hi = bisect_right(self._out_steps, last)
        return "".join(self._out_chunks[lo:hi])

    def stderr_between(self, first: int, last: int) -> str:
        """What the program wrote to stderr at steps ``first..last`` inclusive."""
        lo = bisect_left(self._err_steps, first)
        hi = bisect_right(self._err_steps, last)
        return "".join(self._err_chunks[lo:hi])

    def stderr_until(self, step: int) -> str:
        count = bisect_right(self._err_steps, step)
        return "".join(self._err_chunks[:count])

    @property
    def stdout(self) -> str:
        return self.output_until(self.last()) if len(self) else ""

    @property
    def stdin(self) -> str:
        """Everything the program read from standard input (for replaying the run)."""
        return self.outcome.get("stdin") or "".join(self._stream(step, "stdin") for step in sorted(self._written))

    def hits(self, file: str, line: int, upto: int | None = None) -> int:
        """How many times ``line`` of ``file`` started running, up to step ``upto`` inclusive."""
        self._ensure(len(self) if upto is None else upto + 1)
        lines = self._index.lines
        start, stop = self._line_bounds(lines, file, line)
        return stop - start if upto is None else bisect_right(lines._items, upto, start, stop) - start

    def _line_bounds(self, lines, file: str, line: int) -> tuple[int, int]:
        """Where the line steps of ``line`` of ``file`` lie in ``lines`` (an index's ``lines``)."""
        return lines.bounds(lines.group((self._file_index.get(file, -1) << 32) + line))

    def executed_lines(self, file: str, upto: int | None = None) -> dict[int, int]:
        """line -> hit count for every line of ``file`` that ran up to ``upto``."""
        self._ensure(len(self) if upto is None else upto + 1)
        file_index = self._file_index.get(file)
        if file_index is None:
            return {}
        lines = self._index.lines
        steps = lines._items
        counts = []
        for g in range(*lines.key_range(file_index << 32, (file_index + 1) << 32)):
            start, stop = lines.bounds(g)
            count = stop - start if upto is None else bisect_right(steps, upto, start, stop) - start
            if count:
                counts.append((steps[start], lines._keys[g] - (file_index << 32), count))
        return {line: count for _first, line, count in sorted(counts)}  # in the order the lines first ran

    # ------------------------------------------------------------- navigation
    def step_into(self, step: int, backward: bool = False) -> int | None:
        target = step - 1 if backward else step + 1
        return target if 0 <= target < len(self) else None

    def _next_in_frame_chain(self, frame: int, step: int) -> int | None:
        """The first step after ``step`` in ``frame`` or, once it has returned, in its callers."""
        self._complete()
        current: int = frame
        index = self._index
        steps = index.frames._items
        while current != _NO_PARENT:
            start, stop = index.frame_bounds(current)
            at = bisect_right(steps, step, start, stop)
            if at < stop:
                return steps[at]
            current = self._frames[current].parent
        return None

    def _prev_in_frame_chain(self, frame: int, step: int) -> int | None:
        self._ensure(step)
        current: int = frame
        index = self._index
        steps = index.frames._items
        while current != _NO_PARENT:
            start, stop = index.frame_bounds(current)
            at = bisect_left(steps, step, start, stop) - 1
            if at >= start:
                return steps[at]
            current = self._frames[current].parent
        return None

    def step_over(self, step: int, backward: bool = False) -> int | None:
        """The next (previous) step of the same frame, stepping over calls it makes."""
        frame = self._frame[step]
        if backward:
            return self._prev_in_frame_chain(frame, step)
        return self._next_in_frame_chain(frame, step)

    def step_out(self, step: int, backward: bool = False) -> int | None:
        """Forward: the caller's next step after this frame returns. Backward: the caller's step that made the call."""
        self._complete()
        frame = self._frame[step]
        parent = self._frames[frame].parent
        if backward:
            call_step = self._frames[frame].call_step
            if parent == _NO_PARENT:
                return call_step if call_step != step else None
            return self._prev_in_frame_chain(parent, call_step)
        end = self._frame_end(frame)
        if parent == _NO_PARENT:
            return end if end != step else None
        return self._next_in_frame_chain(parent, end)

    def run_to_line(self, step: int, file: str, line: int, backward: bool = False) -> int | None:
        """The next (previous) step at which ``line`` of ``file`` starts running."""
        self._ensure(step if backward else len(self))
        lines = self._index.lines
        start, stop = self._line_bounds(lines, file, line)
        steps = lines._items
        if backward:
            at = bisect_left(steps, step, start, stop) - 1
            return steps[at] if at >= start else None
        at = bisect_right(steps, step, start, stop)
        return steps[at] if at < stop else None

    def run_to_any(self, step: int, lines: Iterable[tuple[str, int]], backward: bool = False) -> int | None:
        """The nearest step, after (before) ``step``, that hits any of ``lines`` (breakpoints)."""
        found = [s for file, line in lines if (s := self.run_to_line(step, file, line, backward)) is not None]
        if not found:
            return None
        return max(found) if backward else min(found)

    def exception_steps(self) -> list[int]:
        self._complete()
        return list(self._index.exception_steps)

    def exception_step(self) -> int | None:
        """The step where the failure is: the one place that decides it (``e`` in the TUI, the outcome's text).

        A run ended by an exception: its recorded raise in the innermost frame of the
        outcome's traceback (the last exception event there of that type); when the recording
        has none there (at the recursion limit the recorder can miss the innermost raises),
        the first recorded step of the exception's way out. Any other run: where the last
        exception was raised, leaving out the ``StopIteration``/``StopAsyncIteration`` that
        Python raises and catches itself to end iterations and awaits.
        """
        self._complete()
        if not self._index.exception_steps:
            return None
        info = (self.outcome.get("exception") or {}) if self.outcome.get("outcome") == "exception" else {}
        frames = info.get("traceback") or []
        if frames:
            raised = self._raise_point(self._index.exception_steps[-1])
            inner = frames[-1]
            place = (self._file_index.get(inner.get("file")), inner.get("line"), inner.get("func"))
            if self._place(raised) == place:
                return raised
            for step in reversed(self._index.exception_steps):
                if self._place(step) == place and self._exc_type(step) == info.get("type"):
                    return step
            return raised
        for step in reversed(self._index.exception_steps):
            if self._exc_type(step) not in ("StopIteration", "StopAsyncIteration"):
                return self._raise_point(step)
        return self._raise_point(self._index.exception_steps[-1])

    def _exc_type(self, step: int) -> str | None:
        exc = (self._rare.get(step) or (None, None))[1]
        return exc[0] if exc else None

    def _place(self, step: int) -> tuple[int, int, str]:
        return self._file[step], self._line[step], self._funcs[self._func[step]]

    def _raise_point(self, last: int) -> int:
        """The first exception event of the contiguous unwinding that ends at ``last``."""
        raised = last
        step = last - 1
        while step >= 0 and self._kind[step] in (2, 3) and self._depth[step] >= self._depth[last]:
            if self._kind[step] == 3:
                raised = step
            step -= 1
        return raised

    # ------------------------------------------------------------------ loops
    def loops(self, file: str) -> list[Loop]:
        return list(self._loops.get(self._file_index.get(file, -1), []))

    def _loop_around(self, step: int) -> Loop | None:
        """The innermost loop of the step's own function that contains its line."""
        file = self._file[step]
        line = self._line[step]
        scopes = self._scopes.get(file, [])
        best: Loop | None = None
        for loop in self._loops.get(file, []):
            if not loop.header <= line <= loop.end:
                continue
            if any(loop.header < start <= line <= end <= loop.end for start, end in scopes):
                continue  # the line is in a function defined inside the loop
            if best is None or loop.header > best.header:
                best = loop
        return best

    def loop_at(self, step: int) -> LoopPosition | None:
        """Which iteration of the loop around the current line this step is in."""
        self._complete()
        if not len(self):
            return None
        loop = self._loop_around(step)
        if loop is None:
            return None
        index = self._index
        d = index.dense_frame(self._frame[step])
        if d < 0:
            return None
        key = (d << 32) + loop.header
        entries = index.loop_entries
        start, stop = entries.bounds(entries.group(key))
        at = bisect_right(entries._items, step, start, stop) - 1
        if at < start:
            return None  # the frame has not reached this loop's header yet
        starts = index.loop_starts
        low, high = starts.bounds(starts.group(key))
        first = bisect_left(starts._items, entries._items[at], low, high)
        last = bisect_left(starts._items, entries._items[at + 1], first, high) if at + 1 < stop else high
        if first == last:
            return None
        iteration = bisect_right(starts._items, step, first, last) - first
        if iteration == 0:
            return None
        return LoopPosition(loop.header, loop.end, iteration, last - first, StepRange(starts.items, first, last))

    def next_iteration(self, step: int) -> int | None:
        """The step where the next iteration of the loop around the current line starts."""
        position = self.loop_at(step)
        if position is None or position.iteration >= position.total:
            return None
        return position.iteration_steps[position.iteration]

    def prev_iteration(self, step: int) -> int | None:
        """The step where the previous iteration of the loop around the current line started."""
        position = self.loop_at(step)
        if position is None or position.iteration <= 1:
            return None
        return position.iteration_steps[position.iteration - 2]

    # ------------------------------------------------------------------ search
    def search(self, text: str, step: int, backward: bool = False, whole_word: bool = False) -> int | None:
        """The next (previous) step whose changes mention ``text`` in a name or a value (``whole_word``:
        not as part of a longer word: ``s`` then finds ``s`` and ``'s'``, not ``sum``)."""
        self._complete()
        from duck.session_index import find_change

        index, nchanges = self._index, self._nchanges
        if backward:
            found = find_change(self, text, index.change_start(nchanges, step), True, whole_word)
        else:
            found = find_change(self, text, index.change_start(nchanges, min(step + 1, len(self))), False, whole_word)
        return None if found < 0 else self._step_of_change(found)

    def _step_of_change(self, position: int) -> int:
        """The step whose event reports the change at ``position`` in the change columns."""
        checkpoints, nchanges = self._index.change_checkpoints, self._nchanges
        base = bisect_right(checkpoints, position) - 1
        step, before = base << CHECKPOINT_SHIFT, checkpoints[base]
        while before + nchanges[step] <= position:
            before += nchanges[step]
            step += 1
        return step
