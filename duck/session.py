"""A recorded run and the questions a debugger asks of it, answered without re-running anything.

``Session`` loads a trace (docs/trace-format.md) into columns (``array`` per field, sparse
dicts for what only some steps carry) and builds indexes at load time, so every query used
while stepping (state at step i, the call stack, the last change of a variable, step
over/into/out in both directions, run to a line, loop iterations, output so far) costs
O(log n) or O(frame size), never O(trace length). The UI, the narrator, the model
explainer and the repair search all ask the session; none of them walks raw events.

This module has no Textual and no model: it is plain Python, tested without a terminal.
It does not format values for people (``duck.narrate`` does) and does not record.
"""

from __future__ import annotations

import ast
import gc
import re
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Iterable, Iterator

from duck.trace.format import Trace, iter_records, record_kind

KINDS = ("call", "line", "return", "exception")
_KIND_CODE = {name: code for code, name in enumerate(KINDS)}
_NO_PARENT = -1
#: keys every event carries (step, event, file, line, func, depth, frame, parent)
_EVENT_BASE_KEYS = 8
_EVENT_EXTRA_KEYS = ("changes", "value", "exc_type", "exc_msg", "stdout", "stderr", "stdin", "deleted")
#: The variable a path such as ``node.next.value`` or ``xs[0]`` starts from.
_PATH_ROOT = re.compile(r"[A-Za-z_]\w*")
#: Sessions at least this long are moved out of the cyclic GC's reach (``gc.freeze``) once loaded.
_FREEZE_AT_STEPS = 50_000


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


class Session:
    """A trace plus indexes. Build with :meth:`load`, :meth:`from_trace` or :meth:`from_records`."""

    def __init__(self) -> None:
        self.header: dict = {}
        self.outcome: dict = {}
        self.sources: dict[str, str] = {}
        self._files: list[str] = []
        self._file_index: dict[str, int] = {}
        self._funcs: list[str] = []
        self._func_index: dict[str, int] = {}
        self._kind = array("b")
        self._file = array("i")
        self._line = array("i")
        self._func = array("i")
        self._depth = array("i")
        self._frame = array("i")
        self._parent = array("i")
        self._extra: dict[int, dict] = {}
        self._frames: dict[int, _FrameInfo] = {}
        self._frame_steps: dict[int, array] = {}
        self._line_steps: dict[tuple[int, int], array] = {}
        self._var_steps: dict[tuple[int, str], array] = {}
        self._var_values: dict[tuple[int, str], list] = {}
        self._frame_vars: dict[int, list[str]] = {}
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

    # ----------------------------------------------------------------- building
    @classmethod
    def load(cls, path: str | Path) -> "Session":
        """Load a trace file (raises ``duck.trace.format.TraceFormatError`` if it is not one)."""
        return cls.from_records(iter_records(path))

    @classmethod
    def from_trace(cls, trace: Trace) -> "Session":
        return cls.from_records(trace.records())

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> "Session":
        session = cls()
        # Loading creates millions of small containers; with the cyclic GC on, it rescans them
        # again and again (load 2.5x slower at 1M steps), and once loaded a full collection
        # pauses for seconds. So it is off while loading, and a big session is frozen out of it.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            session._read(records)
        finally:
            if gc_was_enabled:
                gc.enable()
        if len(session) >= _FREEZE_AT_STEPS:
            gc.freeze()
        return session

    def _read(self, records: Iterable[dict]) -> None:
        session = self
        for record in records:
            kind = record_kind(record)
            if kind == "event":
                session._add_event(record)
            elif kind == "source":
                session.sources[record["source"]] = record.get("text", "")
            elif kind == "outcome":
                session.outcome = record
            elif kind == "header":
                session.header = record
        if not session.outcome:
            session.outcome = {"outcome": "limit", "limit": "interrupted", "steps": len(session),
                               "message": "the trace has no outcome line: the recorder was stopped"}
        session._index_loops()

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

    def _add_event(self, record: dict) -> None:
        # the hottest loop of loading: locals bound once, extras looked at only when the
        # record has more than the eight keys every event carries
        step = len(self._kind)
        get = record.get
        kind = _KIND_CODE.get(get("event"), 1)
        path = get("file", "?")
        file = self._file_index.get(path)
        if file is None:
            file = self._intern_file(path)
        line = int(get("line") or 0)
        frame = int(get("frame", 0))
        parent = get("parent")
        parent = _NO_PARENT if parent is None else int(parent)
        depth = int(get("depth", 0))
        func_name = get("func", "?")
        func = self._func_index.get(func_name)
        if func is None:
            func = self._intern_func(func_name)
        self._kind.append(kind)
        self._file.append(file)
        self._line.append(line)
        self._func.append(func)
        self._depth.append(depth)
        self._frame.append(frame)
        self._parent.append(parent)

        frame_steps = self._frame_steps.get(frame)
        if frame_steps is None:
            self._frames[frame] = _FrameInfo(func_name, file, parent, depth, step)
            frame_steps = self._frame_steps[frame] = array("i")
            self._frame_vars[frame] = []
        frame_steps.append(step)
        if kind == 1:
            key = (file, line)
            steps = self._line_steps.get(key)
            if steps is None:
                steps = self._line_steps[key] = array("i")
            steps.append(step)
        elif kind == 3:
            self._exception_steps.append(step)

        if len(record) <= _EVENT_BASE_KEYS:
            return
        extra = {k: record[k] for k in _EVENT_EXTRA_KEYS if get(k)}
        if not extra:
            return
        self._extra[step] = extra
        for name, value in extra.get("changes", {}).items():
            self._set_var(frame, name, step, value)
        for name in extra.get("deleted", ()):
            self._set_var(frame, name, step, None)
        stdout = extra.get("stdout")
        if stdout:
            self._out_steps.append(step)
            self._out_chunks.append(stdout)
            previous = self._out_ends[-1] if self._out_ends else 0
            self._out_ends.append(previous + len(stdout))
        if extra.get("stderr"):
            self._err_steps.append(step)
            self._err_chunks.append(extra["stderr"])

    def _set_var(self, frame: int, name: str, step: int, value: str | None) -> None:
        key = (frame, name)
        steps = self._var_steps.get(key)
        if steps is None:
            steps = self._var_steps[key] = array("i")
            self._var_values[key] = []
            self._frame_vars[frame].append(name)
        steps.append(step)
        self._var_values[key].append(value)

    def _index_loops(self) -> None:
        """One pass over line events: which loop header visits start an iteration."""
        headers: dict[int, dict[int, Loop]] = {}
        for path, index in self._file_index.items():
            source = self.sources.get(path)
            if source is None:
                continue
            loops = find_loops(source)
            self._loops[index] = loops
            self._scopes[index] = _find_scopes(source)
            if loops:
                headers[index] = {loop.header: loop for loop in loops}
        if not headers:
            return
        pending: dict[int, tuple[_HeaderHits, Loop]] = {}  # frame -> header hit awaiting its next line
        last_line: dict[int, int] = {}
        kinds, files, lines, frames = self._kind, self._file, self._line, self._frame
        for step in range(len(kinds)):
            frame = frames[step]
            waiting = pending.pop(frame, None)
            if waiting is not None:
                hits, loop = waiting
                inside = kinds[step] == 1 and loop.header < lines[step] <= loop.end
                hits.is_iteration[-1] = 1 if inside else 0
            if kinds[step] != 1:
                continue
            line = lines[step]
            loop = headers.get(files[step], {}).get(line)
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
        for hits in self._header_hits.values():
            hits.finish()

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
        extra = self._extra.get(step, {})
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
            changes=dict(extra.get("changes", {})),
            value=extra.get("value"),
            exc_type=extra.get("exc_type"),
            exc_msg=extra.get("exc_msg"),
            stdout=extra.get("stdout", ""),
            stderr=extra.get("stderr", ""),
            stdin=extra.get("stdin", ""),
            deleted=tuple(extra.get("deleted", ())),
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
        return self._frame_steps.get(frame, array("i"))

    def frame_end_step(self, frame: int) -> int:
        return self._frame_steps[frame][-1]

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
        steps = self._frame_steps[frame]
        index = bisect_right(steps, step) - 1
        return self._line[steps[max(index, 0)]]

    def locals_at(self, step: int, frame: int | None = None) -> dict[str, str]:
        """Every local of ``frame`` (the current one by default) as it is at ``step``."""
        frame = self._frame[step] if frame is None else frame
        result = {}
        for name in self._frame_vars.get(frame, ()):
            value = self._value(frame, name, step)
            if value is not None:
                result[name] = value
        return result

    def _history_index(self, frame: int, name: str, step: int) -> int:
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
        key = (frame, name)
        return list(zip(self._var_steps.get(key, ()), self._var_values.get(key, ())))

    def changes_at(self, step: int) -> dict[str, tuple[str | None, str | None]]:
        """name -> (value before, value after) for what the event at ``step`` reports changed."""
        extra = self._extra.get(step, {})
        frame = self._frame[step]
        result: dict[str, tuple[str | None, str | None]] = {}
        for name, new in extra.get("changes", {}).items():
            result[name] = (self._value(frame, name, step - 1), new)
        for name in extra.get("deleted", ()):
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
        return self.outcome.get("stdin") or "".join(e.get("stdin", "") for e in self._extra.values())

    def hits(self, file: str, line: int, upto: int | None = None) -> int:
        """How many times ``line`` of ``file`` started running, up to step ``upto`` inclusive."""
        steps = self._line_steps.get((self._file_index.get(file, -1), line))
        if steps is None:
            return 0
        return len(steps) if upto is None else bisect_right(steps, upto)

    def executed_lines(self, file: str, upto: int | None = None) -> dict[int, int]:
        """line -> hit count for every line of ``file`` that ran up to ``upto``."""
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
        current: int = frame
        while current != _NO_PARENT:
            steps = self._frame_steps[current]
            index = bisect_right(steps, step)
            if index < len(steps):
                return steps[index]
            current = self._frames[current].parent
        return None

    def _prev_in_frame_chain(self, frame: int, step: int) -> int | None:
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
        return list(self._exception_steps)

    def exception_step(self) -> int | None:
        """Where the exception that ended the run was raised (else the last exception event)."""
        if not self._exception_steps:
            return None
        last = self._exception_steps[-1]
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
        candidates = sorted(s for s in self._extra if (s < step if backward else s > step))
        if backward:
            candidates.reverse()
        for candidate in candidates:
            changes = self._extra[candidate].get("changes", {})
            if any(text in name or text in value for name, value in changes.items()):
                return candidate
        return None
