"""A recorded run and the questions a debugger asks of it, answered without re-running anything.

``Session`` keeps a trace's columns as the v2 format stores them (docs/trace-format.md; a v1
trace is turned into the same columns) and builds its indexes from those integers in step
order, as far as a query needs them (``index_all`` finishes them, the TUI in a worker), so
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
import threading
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Iterable, Iterator

from duck.trace.format import Trace, iter_records
from duck.trace.store import _join_streams

KINDS = ("call", "line", "return", "exception")
_NO_PARENT = -1
#: The variable a path such as ``node.next.value`` or ``xs[0]`` starts from.
_PATH_ROOT = re.compile(r"[A-Za-z_]\w*")
#: Sessions at least this long are moved out of the cyclic GC's reach (``gc.freeze``) once loaded.
_FREEZE_AT_STEPS = 50_000
#: Steps indexed at a time by ``Session.index_all`` (a query waits for at most one such block).
_INDEX_BLOCK = 65_536
#: Steps a query indexes beyond what it needs (so stepping forward does not index one step at a time).
_INDEX_AHEAD = 4096


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


@dataclass
class _HeaderHits:
    """Visits of one loop header by one frame activation.

    ``starts``/``start_entry`` (filled by ``finish``) list only the visits that begin an
    iteration, with the entry they belong to, so ``loop_at`` finds an entry's iterations
    by bisection instead of scanning every visit.
    """

    steps: array = field(default_factory=lambda: array("i"))
    is_iteration: array = field(default_factory=lambda: array("b"))
    entry: array = field(default_factory=lambda: array("i"))
    starts: array = field(default_factory=lambda: array("i"))
    start_entry: array = field(default_factory=lambda: array("i"))

    def finish(self) -> None:
        self.starts = array("i", (s for s, it in zip(self.steps, self.is_iteration) if it))
        self.start_entry = array("i", (e for e, it in zip(self.entry, self.is_iteration) if it))


class StepRange(Sequence):
    """A read-only, zero-copy slice of a step array (``LoopPosition.iteration_steps``)."""

    __slots__ = ("_view",)

    def __init__(self, steps: array, start: int, stop: int) -> None:
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
        if isinstance(other, (tuple, list)):
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
            loops.append(Loop(node.lineno, node.end_lineno or node.lineno))
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
    """frame id -> ``_FrameInfo``, read from the frame-entry table on first use (no per-step pass)."""

    __slots__ = ("session", "cache")

    def __init__(self, session: "Session") -> None:
        self.session, self.cache = session, {}

    def __getitem__(self, frame: int) -> _FrameInfo:
        info = self.cache.get(frame)
        if info is None:
            s = self.session
            try:
                entry = s._e_frame.index(frame)
                step = s._ctx.index(entry)  # entries are added as their frames start: the first is the call
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
        self._change_start = array("I", [0])  # step -> its first change (built with the indexes)
        self._change_name = array("I")
        self._change_value = array("I")
        self._value_ids: frozenset[int] = frozenset()  # string ids of the pseudo-name that carries return values
        self._rare: dict[int, tuple] = {}
        self._written: dict[int, list] = {}
        self._set_entries(array("i"), array("i"), array("i"), array("i"), array("i"), array("i"))
        self._frames = _FrameInfos(self)
        self._frame_steps: dict[int, array] = {}
        self._line_steps: dict[tuple[int, int], array] = {}
        self._var_steps: dict[tuple[int, str], array] = {}
        self._var_values: dict[tuple[int, str], list] = {}
        self._frame_vars: dict[int, list[str]] = {}
        self._change_steps = array("i")  # steps whose event reports changes (for search)
        self._out_steps = array("i")
        self._out_ends = array("q")
        self._out_chunks: list[str] = []
        self._output: str | None = None
        self._err_steps = array("i")
        self._err_chunks: list[str] = []
        self._exception_steps = array("i")
        self._loops: dict[int, list[Loop]] = {}
        self._scopes: dict[int, list[tuple[int, int]]] = {}
        self._header_hits: dict[tuple[int, int], _HeaderHits] = {}
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
            self.outcome = {"outcome": "limit", "limit": "interrupted", "steps": len(self),
                            "message": "the trace has no outcome line: the recorder was stopped"}
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
        self._pending_hits: dict[int, tuple[_HeaderHits, Loop]] = {}  # frame -> header hit awaiting its next line
        self._last_line: dict[int, int] = {}
        self._deletions = sorted(s for s, (deleted, _exc) in self._rare.items() if deleted)
        self._deletion_at = 0

    @property
    def indexed_fraction(self) -> float:
        """How much of the trace the indexes cover (1.0 once every query can be answered at once)."""
        return self._indexed / len(self) if len(self) else 1.0

    def index_all(self, should_stop=lambda: False, progress=lambda: None) -> None:
        """Build the rest of the indexes in blocks (for a background thread; queries wait for at most a block).

        ``progress()`` is called after each block; ``should_stop()`` true ends early.
        """
        while self._indexed < len(self) and not should_stop():
            self._ensure(self._indexed + _INDEX_BLOCK)
            progress()

    def _complete(self) -> None:
        self._ensure(len(self))

    def _ensure(self, upto: int) -> None:
        """Index at least the steps before ``upto`` (queries about the past need no more than that)."""
        if upto <= self._indexed:
            return
        with self._index_lock:
            n = len(self)
            stop = min(n, max(upto, self._indexed + _INDEX_AHEAD))
            if stop <= self._indexed:
                return
            gc_was_enabled = gc.isenabled()
            gc.disable()  # indexing makes many small containers: see from_columns
            try:
                self._index_steps(self._indexed, stop)
                if stop == n:
                    for hits in self._header_hits.values():
                        hits.finish()
            finally:
                if gc_was_enabled:
                    gc.enable()
            self._indexed = stop
            if stop == n and n >= _FREEZE_AT_STEPS:
                gc.freeze()

    def _index_steps(self, first: int, stop: int) -> None:
        """Steps ``first..stop-1`` into the indexes: per frame, per line, per variable, per loop header."""
        e_frame, e_code, code_file = self._e_frame, self._e_code, self._code_file
        strings, names, values = self._strings, self._change_name, self._change_value
        value_ids, start, rare, nchanges = self._value_ids, self._change_start, self._rare, self._nchanges
        frame_steps, line_steps = self._frame_steps, self._line_steps
        change_steps, exception_steps = self._change_steps, self._exception_steps
        deletions = self._deletions
        next_deletion = deletions[self._deletion_at] if self._deletion_at < len(deletions) else -1
        headers, pending, last_line = self._loop_headers, self._pending_hits, self._last_line
        for step, ctx, kind_line in zip(range(first, stop), self._ctx[first:stop], self._kind_line[first:stop]):
            frame = e_frame[ctx]
            steps = frame_steps.get(frame)
            if steps is None:
                steps = frame_steps[frame] = array("i")
                self._frame_vars[frame] = []
            steps.append(step)
            kind = kind_line & 3
            line = kind_line >> 2
            if kind == 1:
                key = (code_file[e_code[ctx]], line)
                steps = line_steps.get(key)
                if steps is None:
                    steps = line_steps[key] = array("i")
                steps.append(step)
            elif kind == 3:
                exception_steps.append(step)
            low = start[step]
            high = low + nchanges[step]
            start.append(high)
            if low != high:
                change_steps.append(step)
                for j in range(low, high):
                    name = names[j]
                    if name not in value_ids:
                        self._set_var(frame, strings[name], step, strings[values[j]])
            if step == next_deletion:
                for name in rare[step][0]:
                    self._set_var(frame, name, step, None)
                self._deletion_at += 1
                next_deletion = deletions[self._deletion_at] if self._deletion_at < len(deletions) else -1
            if headers:
                self._index_loop_step(step, frame, code_file[e_code[ctx]], kind, line, headers, pending, last_line)

    def _index_loop_step(self, step: int, frame: int, file: int, kind: int, line: int, headers, pending,
                         last_line) -> None:
        """Which loop header visits start an iteration (decided at the frame's next step)."""
        waiting = pending.pop(frame, None)
        if waiting is not None:
            hits, loop = waiting
            inside = kind == 1 and loop.header < line <= loop.end
            hits.is_iteration[-1] = 1 if inside else 0
        if kind != 1:
            return
        loop = headers.get(file, {}).get(line)
        if loop is not None:
            key = (frame, line)
            hits = self._header_hits.get(key)
            if hits is None:
                hits = self._header_hits[key] = _HeaderHits()
            previous = last_line.get(frame)
            new_entry = previous is None or not (loop.header <= previous <= loop.end) or not hits.steps
            hits.entry.append(step if new_entry else hits.entry[-1])
            hits.steps.append(step)
            hits.is_iteration.append(0)
            pending[frame] = (hits, loop)
        last_line[frame] = line

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

    def _changes(self, step: int) -> Iterator[tuple[str, str]]:
        """(name, safe repr) of each change the event at ``step`` reports (its return value left out)."""
        self._ensure(step + 1)  # the change offsets are built with the indexes
        strings, names, values = self._strings, self._change_name, self._change_value
        for j in range(self._change_start[step], self._change_start[step + 1]):
            if names[j] not in self._value_ids:
                yield strings[names[j]], strings[values[j]]

    def _return_value(self, step: int) -> str | None:
        self._ensure(step + 1)
        names = self._change_name
        for j in range(self._change_start[step], self._change_start[step + 1]):
            if names[j] in self._value_ids:
                return self._strings[self._change_value[j]]
        return None

    def _set_var(self, frame: int, name: str, step: int, value: str | None) -> None:
        key = (frame, name)
        steps = self._var_steps.get(key)
        if steps is None:
            steps = self._var_steps[key] = array("i")
            self._var_values[key] = []
            self._frame_vars[frame].append(name)
        steps.append(step)
        self._var_values[key].append(value)

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

    def frame_steps(self, frame: int) -> array:
        """Every step of one frame activation, in order."""
        self._complete()
        return self._frame_steps.get(frame, array("i"))

    def frame_end_step(self, frame: int) -> int:
        self._complete()
        return self._frame_steps[frame][-1]

    def frames_started(self, first: int, last: int) -> int:
        """How many frame activations begin at steps ``first..last`` (a call counts once, however often it resumes)."""
        if self._frame_starts is None:
            self._complete()
            self._frame_starts = array("i", sorted(steps[0] for steps in self._frame_steps.values()))
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
        steps = self._frame_steps[frame]
        index = bisect_right(steps, step) - 1
        return self._line[steps[max(index, 0)]]

    def locals_at(self, step: int, frame: int | None = None) -> dict[str, str]:
        """Every local of ``frame`` (the current one by default) as it is at ``step``."""
        self._ensure(step + 1)
        frame = self._frame[step] if frame is None else frame
        result = {}
        for name in self._frame_vars.get(frame, ()):
            value = self._value(frame, name, step)
            if value is not None:
                result[name] = value
        return result

    def _history_index(self, frame: int, name: str, step: int) -> int:
        self._ensure(step + 1)
        steps = self._var_steps.get((frame, name))
        if steps is None:
            return -1
        return bisect_right(steps, step) - 1

    def _value(self, frame: int, name: str, step: int) -> str | None:
        index = self._history_index(frame, name, step)
        return None if index < 0 else self._var_values[(frame, name)][index]

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
        index = self._history_index(owner, root, step)
        if index < 0:
            return None
        steps = self._var_steps[(owner, root)]
        if root == name:
            return steps[index]
        from duck.watch import watch_text

        values = self._var_values[(owner, root)]

        def part(i: int) -> str | None:
            text = values[i]
            if text is None:
                return None
            shown, ok = watch_text(name, {root: text})
            return shown if ok else None

        current = part(index)
        while index > 0:
            previous = part(index - 1)
            if previous != current:
                return steps[index]
            index -= 1
        return steps[0] if current is not None else None

    def history(self, name: str, frame: int) -> list[tuple[int, str | None]]:
        """Every (step, value) ``name`` took in one frame activation."""
        self._complete()
        key = (frame, name)
        return list(zip(self._var_steps.get(key, ()), self._var_values.get(key, ())))

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
        steps = self._line_steps.get((self._file_index.get(file, -1), line))
        if steps is None:
            return 0
        return len(steps) if upto is None else bisect_right(steps, upto)

    def executed_lines(self, file: str, upto: int | None = None) -> dict[int, int]:
        """line -> hit count for every line of ``file`` that ran up to ``upto``."""
        self._ensure(len(self) if upto is None else upto + 1)
        index = self._file_index.get(file, -1)
        result = {}
        for (file_index, line), steps in self._line_steps.items():
            if file_index == index:
                count = len(steps) if upto is None else bisect_right(steps, upto)
                if count:
                    result[line] = count
        return result

    # ------------------------------------------------------------- navigation
    def step_into(self, step: int, backward: bool = False) -> int | None:
        target = step - 1 if backward else step + 1
        return target if 0 <= target < len(self) else None

    def _next_in_frame_chain(self, frame: int, step: int) -> int | None:
        """The first step after ``step`` in ``frame`` or, once it has returned, in its callers."""
        self._complete()
        current: int = frame
        while current != _NO_PARENT:
            steps = self._frame_steps[current]
            index = bisect_right(steps, step)
            if index < len(steps):
                return steps[index]
            current = self._frames[current].parent
        return None

    def _prev_in_frame_chain(self, frame: int, step: int) -> int | None:
        self._ensure(step)
        current: int = frame
        while current != _NO_PARENT:
            steps = self._frame_steps[current]
            index = bisect_left(steps, step) - 1
            if index >= 0:
                return steps[index]
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
        end = self._frame_steps[frame][-1]
        if parent == _NO_PARENT:
            return end if end != step else None
        return self._next_in_frame_chain(parent, end)

    def run_to_line(self, step: int, file: str, line: int, backward: bool = False) -> int | None:
        """The next (previous) step at which ``line`` of ``file`` starts running."""
        self._ensure(step if backward else len(self))
        steps = self._line_steps.get((self._file_index.get(file, -1), line))
        if not steps:
            return None
        if backward:
            index = bisect_left(steps, step) - 1
            return steps[index] if index >= 0 else None
        index = bisect_right(steps, step)
        return steps[index] if index < len(steps) else None

    def run_to_any(self, step: int, lines: Iterable[tuple[str, int]], backward: bool = False) -> int | None:
        """The nearest step, after (before) ``step``, that hits any of ``lines`` (breakpoints)."""
        found = [s for file, line in lines if (s := self.run_to_line(step, file, line, backward)) is not None]
        if not found:
            return None
        return max(found) if backward else min(found)

    def exception_steps(self) -> list[int]:
        self._complete()
        return list(self._exception_steps)

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
        if not self._exception_steps:
            return None
        info = (self.outcome.get("exception") or {}) if self.outcome.get("outcome") == "exception" else {}
        frames = info.get("traceback") or []
        if frames:
            raised = self._raise_point(self._exception_steps[-1])
            inner = frames[-1]
            place = (self._file_index.get(inner.get("file")), inner.get("line"), inner.get("func"))
            if self._place(raised) == place:
                return raised
            for step in reversed(self._exception_steps):
                if self._place(step) == place and self._exc_type(step) == info.get("type"):
                    return step
            return raised
        for step in reversed(self._exception_steps):
            if self._exc_type(step) not in ("StopIteration", "StopAsyncIteration"):
                return self._raise_point(step)
        return self._raise_point(self._exception_steps[-1])

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
        hits = self._header_hits.get((self._frame[step], loop.header))
        if hits is None:
            return None
        index = bisect_right(hits.steps, step) - 1
        if index < 0:
            return None
        entry = hits.entry[index]
        first = bisect_left(hits.start_entry, entry)
        last = bisect_right(hits.start_entry, entry)
        if first == last:
            return None
        iteration = bisect_right(hits.starts, step, first, last) - first
        if iteration == 0:
            return None
        return LoopPosition(loop.header, loop.end, iteration, last - first, StepRange(hits.starts, first, last))

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
    def search(self, text: str, step: int, backward: bool = False) -> int | None:
        """The next (previous) step whose changes mention ``text`` in a name or a value."""
        self._complete()
        steps = self._change_steps
        if backward:
            candidates = (steps[i] for i in range(bisect_left(steps, step) - 1, -1, -1))
        else:
            candidates = (steps[i] for i in range(bisect_right(steps, step), len(steps)))
        for candidate in candidates:
            if any(text in name or text in value for name, value in self._changes(candidate)):
                return candidate
        return None
