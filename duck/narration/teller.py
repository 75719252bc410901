"""The teller: walks a recording frame by frame and tells it as nested bullet items.

``Teller`` turns steps into sentences ("line 7: `total += x` -> total goes from 3 to 7"),
each call with its arguments and its result, loops iteration by iteration (long loops
summarised: the first iterations, "... N more iterations ...", the last ones). It stops with
``Stop`` when it has said ``max_items`` items. ``tell_frame`` and ``tell_loop_at`` tell one
call and one loop, bounded. Lines are labelled by a ``Style``: ``line 7`` for people,
``[L11]`` for SemCoder's prompts.

Each frame is told as what its code object is (``duck.narration.code.CodeObject``): a call
of a function, the getter or setter of a property, a module's top-level code, a class body,
a generator resumed and yielding, a coroutine suspended at its ``await``s (its suspensions,
resumptions and the ``StopIteration`` that hands an awaited result back are told as the
``await`` they are, not as yields or errors). A recording stopped by a limit is told as
stopped: the loop and the calls it was in never ended. Calls beyond ``max_nesting`` are
counted ("... 985 more calls inside it ..."), never dropped silently.

Every sentence comes from the trace (values, lines, calls, output) or the recorded source.
It does not word the outcome (``duck.narration.outcome``) and does not choose what to tell
for a scope (``duck.narration.narrator``).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable

from duck.narration.code import ASYNC_YIELD_VALUE, CodeObject, SourceIndex, module_name, source_index, written_names
from duck.narration.text import call_text, change_phrase, changes_phrase, clip, output_phrase, plural, short_func
from duck.session import LoopPosition, Session

#: Names Python itself sets in a class body; not the user's doing, so not told.
_CLASS_MACHINERY = frozenset({"__module__", "__qualname__", "__firstlineno__", "__static_attributes__",
                              "__classcell__", "__classdictcell__", "__type_params__"})


@dataclass(frozen=True)
class Style:
    """How lines are labelled: ``line 7`` for people, ``[L11]`` for SemCoder's prompts."""

    label: Callable[[int], str]


PLAIN = Style(label=lambda line: f"line {line}")


def semcoder_style(offset: int = 4) -> Style:
    """Labels matching ``models.prompts.label_lines`` (line i is ``[L{i+offset}]``)."""
    return Style(label=lambda line: f"[L{line + offset}]")


class Stop(Exception):
    """The narration reached its size bound at ``step``."""

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def frame_code(session: Session, frame: int) -> CodeObject:
    """What ``frame`` ran, read off its recorded name, its first line and the recorded source."""
    call_step = session.frame_call_step(frame)
    index = source_index(session.source(session.file(call_step)))
    return index.code_object(session.frame_func(frame), session.line(call_step), module_name(session.frame_file(frame)))


def code_title(code: CodeObject) -> str:
    """How a code object is named in a sentence: ``Account.fee``, ``the getter of property Account.balance``."""
    name = short_func(code.qualname)
    if code.kind == "module":
        return f"module {code.name}'s top-level code"
    if code.kind == "class":
        return f"the body of class {name}"
    if code.role in ("getter", "setter", "deleter"):
        return f"the {code.role} of property {name}"
    if code.role == "comprehension":
        return f"the {code.comprehension}"
    return name


def frame_title(session: Session, frame: int, *, parens: bool = False) -> str:
    """How a pane names ``frame``, as the narration does: ``module helper's top-level code``, ``the
    getter of property Account.balance``, ``the list comprehension``; a plain function (or
    generator, coroutine) by its recorded name (``total()`` with ``parens``), and the program's own
    top level as ``<module>``."""
    func = session.frame_func(frame)
    if func == "<module>" and session.frame_parent(frame) is None:
        return func + ("()" if parens else "")
    code = frame_code(session, frame)
    if code.kind in ("module", "class") or code.role in ("getter", "setter", "deleter", "comprehension"):
        return code_title(code)
    return func + ("()" if parens else "")


def return_event(session: Session, step: int) -> tuple[str, str] | None:
    """How a pane labels the ``return`` event at ``step``, as the narration words it.

    ``("returns", value)``; ``("yields", value)`` for a generator's yield; ``("waits", ...)`` for
    a coroutine suspended at an ``await``; None for a module's or class body's end, which hands
    no value to anyone (its recorded ``None`` is not a result).
    """
    frame = session.frame(step)
    value = session.event(step).value
    if session.frame_func(frame) == "<module>" and session.frame_parent(frame) is None:
        return None
    teller = Teller(session)
    kind = teller.frame_kind(frame)
    if kind in ("module", "class"):
        return None
    if teller.code(frame).suspends and step != session.frame_end_step(frame):
        if teller.is_yield(frame, step):
            return "yields", teller.yield_phrase(frame, step).removeprefix("yields ")
        return "waits", "at the `await` (suspended)"
    return "returns", value


class Teller:
    """Walks the recording frame by frame and collects (indent, text) items."""

    def __init__(self, session: Session, style: Style = PLAIN, *, max_items: int = 400,
                 head_iterations: int = 3, tail_iterations: int = 2, max_nesting: int = 6) -> None:
        self.session = session
        self.style = style
        self.max_items = max_items
        self.head = head_iterations
        self.tail = tail_iterations
        self.max_nesting = max_nesting
        self.items: list[tuple[int, str]] = []
        self.last_step = -1
        self._codes: dict[int, CodeObject] = {}
        self._failing: int | None = None  # the session's exception step (-1: none), looked up once

    # ------------------------------------------------------------------ output
    def emit(self, indent: int, text: str, step: int) -> None:
        if len(self.items) >= self.max_items:
            raise Stop(step)
        self.items.append((indent, text))
        self.last_step = max(self.last_step, step)

    def render(self) -> str:
        return "\n".join(f"{'  ' * indent}- {text}" for indent, text in self.items)

    # ------------------------------------------------------------------ helpers
    def index(self, step: int) -> SourceIndex:
        return source_index(self.session.source(self.session.file(step)))

    def label(self, step: int) -> str:
        return self.style.label(self.session.line(step))

    def line_text(self, step: int) -> str:
        return self.index(step).text(self.session.line(step))

    def calls_between(self, frame: int, after: int, before: int) -> list[tuple[int, int]]:
        """(frame, call step) of each call or generator resumption made by ``frame`` between two of its steps.

        Only activations that are told on their own are listed: a call, a generator's
        resumption after a yield; not a coroutine resuming after an ``await`` (told with its
        first call). Each child is skipped to the end of its activation, so the calls of
        coroutines that run interleaved are all found.
        """
        session = self.session
        found = []
        step = after + 1
        while step < before:
            if session.kind(step) != "call":
                step += 1
                continue
            child = session.frame(step)
            if child == frame:  # the frame itself resumes (after an ``await``): what it calls comes next
                step += 1
                continue
            if session.event(step).parent == frame and self.starts_segment(child, step):
                found.append((child, step))
            step = self.activation_end(child, step) + 1
        return found

    def code(self, frame: int) -> CodeObject:
        """What the frame ran: a function, a property's getter, a module, a class body, a coroutine ..."""
        code = self._codes.get(frame)
        if code is None:
            code = self._codes[frame] = frame_code(self.session, frame)
        return code

    def frame_kind(self, frame: int) -> str:
        """``module``, ``class``, ``function``, ``generator``, ``coroutine`` or ``async generator``."""
        return self.code(frame).kind

    def is_yield(self, frame: int, step: int) -> bool:
        """Whether a ``return`` event that is not the frame's last hands a value out (a ``yield``).

        A coroutine's are suspensions at an ``await``; an async generator's are yields when
        they hand out its wrapped value (or stand on a line that yields and does not await).
        """
        kind = self.frame_kind(frame)
        if kind == "coroutine":
            return False
        if kind == "async generator":
            if self.session.event(step).value == ASYNC_YIELD_VALUE:
                return True
            return self.index(step).suspends_at(self.session.line(step)) == "yield"
        return True

    def is_protocol_exception(self, step: int) -> bool:
        """Whether an ``exception`` event is an ``await``/``yield from``/``async for`` finishing, not an error.

        ``StopIteration`` hands an awaited (or delegated-to) result back, ``StopAsyncIteration``
        ends an ``async for``; on such a line, when the frame goes on, Python raises them to
        signal, and catches them itself.
        """
        session = self.session
        event = session.event(step)
        if event.exc_type not in ("StopIteration", "StopAsyncIteration"):
            return False
        index, line = self.index(step), session.line(step)
        how = index.suspends_at(line)
        if not how or how == "yield" and "yield from" not in index.text(line):
            return False
        if event.exc_type == "StopAsyncIteration":
            return True  # an ``async for`` catches it itself
        steps = session.frame_steps(event.frame)
        i = bisect_left(steps, step)
        # the frame goes on (a line, or a suspension), rather than leaving by the exception
        return i + 1 < len(steps) - 1 or i + 1 < len(steps) and session.kind(steps[i + 1]) != "return"

    def is_close(self, step: int) -> bool:
        """Whether an ``exception`` event is ``GeneratorExit`` thrown into a generator to close it."""
        event = self.session.event(step)
        return (event.exc_type == "GeneratorExit" and self.frame_kind(event.frame) in ("generator", "async generator")
                and self.index(step).suspends_at(event.line) in ("yield", "both"))

    def internal(self, frame: int, steps, j: int) -> bool:
        """Whether ``steps[j]`` is part of an ``await`` on the line before it: a suspension, a resumption, a result."""
        session = self.session
        step = steps[j]
        kind = session.kind(step)
        if kind == "exception":
            return self.is_protocol_exception(step)
        if not self.code(frame).suspends or j == len(steps) - 1:
            return False
        if kind == "return":
            return not self.is_yield(frame, step)
        if kind == "call" and j > 0:
            return session.kind(steps[j - 1]) == "return" and not self.is_yield(frame, steps[j - 1])
        return False

    def span_end(self, frame: int, steps, i: int) -> tuple[int, int]:
        """(index of the frame's next step after the line at ``steps[i]``, times the line suspended the frame)."""
        j = i + 1
        suspended = 0
        while j < len(steps) and self.internal(frame, steps, j):
            if self.session.kind(steps[j]) == "return":
                suspended += 1
            j += 1
        return j, suspended

    def starts_segment(self, frame: int, step: int) -> bool:
        """Whether the ``call`` event at ``step`` begins an activation told on its own."""
        first = self.session.frame_call_step(frame)
        if step == first:
            return True
        if self.frame_kind(frame) not in ("generator", "async generator"):
            return False
        steps = self.session.frame_steps(frame)
        i = bisect_left(steps, step)
        return i > 0 and self.session.kind(steps[i - 1]) == "return" and self.is_yield(frame, steps[i - 1])

    def activation_end(self, frame: int, call_step: int) -> int:
        """The step where the activation begun at ``call_step`` leaves the frame (its next return, or its last step)."""
        session = self.session
        if not self.code(frame).suspends:
            return session.frame_end_step(frame)
        steps = session.frame_steps(frame)
        i = bisect_left(steps, call_step) + 1
        while i < len(steps) - 1 and session.kind(steps[i]) != "return":
            i += 1
        return steps[min(i, len(steps) - 1)]

    def extent_end(self, frame: int) -> int:
        """The last step inside ``frame``: its final step, or the recording's last when it never returned."""
        session = self.session
        end = session.frame_end_step(frame)
        return end if session.kind(end) == "return" else len(session) - 1

    def segment_end(self, frame: int, call_step: int) -> int:
        """Index in the frame's steps where the activation begun at ``call_step`` ends (a yield, or the end)."""
        steps = self.session.frame_steps(frame)
        if self.frame_kind(frame) not in ("generator", "async generator"):
            return len(steps) - 1
        i = bisect_left(steps, call_step) + 1
        while i < len(steps) - 1 and not (self.session.kind(steps[i]) == "return" and self.is_yield(frame, steps[i])):
            i += 1
        return min(i, len(steps) - 1)

    def title(self, frame: int) -> str:
        """How the frame is named in a sentence: ``Account.fee``, ``the getter of property Account.balance``."""
        return code_title(self.code(frame))

    def opening(self, frame: int, call_step: int) -> str:
        """The sentence that starts an activation: ``calls f(x=1)``, ``runs the setter of property P``, ``resumes g``."""
        session = self.session
        code = self.code(frame)
        title = self.title(frame)
        if call_step != session.frame_call_step(frame):
            steps = session.frame_steps(frame)
            after = bisect_left(steps, call_step) + 1
            if after < len(steps) and session.kind(steps[after]) == "exception" and self.is_close(steps[after]):
                return f"closes {title}"
            return f"resumes {title}"
        if code.kind in ("module", "class"):
            return f"runs {title}"
        args = written_names(session.event(call_step).changes)
        if code.role in ("getter", "setter", "deleter"):
            return f"runs {title}" + (f" ({', '.join(f'{k}={clip(v, 60)}' for k, v in args.items())})" if args else "")
        if code.role == "comprehension":
            return f"runs {title}"
        kind = {"coroutine": "coroutine ", "async generator": "async generator "}.get(code.kind, "")
        if code.role in ("static method", "class method"):
            kind = code.role + " "
        verb = "starts" if code.kind in ("coroutine", "async generator") else "calls"
        text = f"{verb} {kind}{call_text(code.qualname, args)}"
        if code.decorators:
            text += " (decorated with " + ", ".join(f"@{d}" for d in code.decorators) + ")"
        return text

    def yield_phrase(self, frame: int, step: int) -> str:
        """``yields 3``, or for an async generator ``yields `i` (0)``, read off the source and the recorded value."""
        session = self.session
        value = session.event(step).value or "None"
        if value != ASYNC_YIELD_VALUE:
            return f"yields {clip(value)}"
        expression = self.index(step).yielded(session.line(step))
        if not expression:
            return "yields a value"
        known = session.value_at(expression, step, frame) if expression.isidentifier() else None
        return f"yields `{expression}`" + (f" ({clip(known)})" if known is not None else "")

    def suspension_phrase(self, frame: int, step: int) -> str:
        """What a ``return`` event that is not the frame's last means: a yield or a suspension at an ``await``."""
        if self.is_yield(frame, step):
            return self.yield_phrase(frame, step)
        return "is suspended at the `await` (it waits)"

    def segment_result(self, frame: int, end_index: int) -> str:
        steps = self.session.frame_steps(frame)
        if end_index < len(steps) - 1:
            return self.yield_phrase(frame, steps[end_index])
        if self.frame_kind(frame) in ("generator", "async generator") and self.session.kind(steps[-1]) == "return":
            if len(steps) > 1 and self.session.kind(steps[-2]) == "exception" and self.is_close(steps[-2]):
                return self.frame_result(frame)
            value = self.session.event(steps[-1]).value
            if value in (None, "None") and not (len(steps) > 1 and self.session.kind(steps[-2]) == "exception"
                                                and not self.is_protocol_exception(steps[-2])):
                return "is exhausted"
        return self.frame_result(frame)

    def frame_result(self, frame: int) -> str:
        """``returns 3``, ``raises IndexError: ...``, ``ends`` or ``is still running when the recording stops``."""
        session = self.session
        steps = session.frame_steps(frame)
        last = session.event(steps[-1])
        previous = session.event(steps[-2]) if len(steps) > 1 else None
        code = self.code(frame)
        protocol = previous is not None and previous.kind == "exception" and self.is_protocol_exception(previous.step)
        if last.kind == "exception":
            return f"raises {last.exc_type}: {clip(last.exc_msg or '')}".rstrip(": ")
        if last.kind == "return" and previous is not None and previous.kind == "exception" \
                and self.is_close(previous.step) and last.value in (None, "None"):
            return "is closed"
        if last.kind == "return":
            if previous is not None and previous.kind == "exception" and not protocol \
                    and (last.value is None or last.value == "None"):
                return f"raises {previous.exc_type}: {clip(previous.exc_msg or '')}".rstrip(": ")
            if last.value is None:
                return "ends" if protocol else "ends by an exception"
            if last.value == "None" and (code.kind in ("module", "class") or code.role in ("setter", "deleter")):
                return "ends"
            return f"returns {clip(last.value)}"
        return "is still running when the recording stops"

    def elided_calls(self, frame: int, first: int, last: int) -> str:
        """``... 985 more calls inside it are not told ...`` for the calls a compact item leaves out ('' for none)."""
        if self.code(frame).suspends or not self.max_nesting:
            return ""  # while it is suspended, other code runs: not its calls; with no nesting, none is told
        count = self.session.frames_started(first + 1, last)
        if not count:
            return ""
        text = f"; ... {plural(count, 'more call')} inside it {'is' if count == 1 else 'are'} not told ..."
        if self._failing is None:
            self._failing = self.session.exception_step()
            self._failing = -1 if self._failing is None else self._failing
        failing = self._failing
        if failing >= 0 and first < failing <= last and self.session.frame(failing) != frame:
            inner = self.session.frame(failing)
            args = written_names(self.session.event(self.session.frame_call_step(inner)).changes)
            text += (f" (the exception is raised in {call_text(self.session.frame_func(inner), args)},"
                     f" at {self.style.label(self.session.line(failing))})")
        return text

    # ------------------------------------------------------------------ telling
    def tell_top_level(self, start: int = 0) -> None:
        session = self.session
        step = start
        while step < len(session):
            frame = session.frame(step)
            if session.frame_call_step(frame) != step:
                step += 1
                continue
            if session.frame_func(frame) == "<module>" and session.frame_parent(frame) is None:
                self.tell_body(frame, 1, len(session.frame_steps(frame)), 0, 0)
            else:
                self.tell_call(frame, 0, 0)
            step = self.extent_end(frame) + 1

    def tell_call(self, frame: int, indent: int, nesting: int, call_step: int | None = None) -> None:
        """A call (or a generator's resumption): arguments in, its steps, value out."""
        session = self.session
        steps = session.frame_steps(frame)
        first_call = session.frame_call_step(frame)
        call_step = first_call if call_step is None else call_step
        start = bisect_left(steps, call_step)
        end = self.segment_end(frame, call_step)
        opening = self.opening(frame, call_step)
        closing = f"{self.title(frame)} {self.segment_result(frame, end)}"
        if nesting >= self.max_nesting:
            last = steps[end] if session.kind(steps[end]) == "return" else self.extent_end(frame)
            compact = f"{opening}, which {closing[len(self.title(frame)) + 1:]}"
            self.emit(indent, compact + self.elided_calls(frame, call_step, last), call_step)
            return
        self.emit(indent, opening, call_step)
        self.tell_body(frame, start + 1, end if session.kind(steps[end]) == "return" else end + 1,
                       indent + 1, nesting + 1)
        self.emit(indent, closing, steps[end])

    def tell_body(self, frame: int, start: int, stop: int, indent: int, nesting: int) -> None:
        """Tell the frame's own steps ``steps[start:stop]``, with the calls they make."""
        session = self.session
        steps = session.frame_steps(frame)
        i = start
        while i < stop:
            step = steps[i]
            kind = session.kind(step)
            if kind == "line":
                # a generator's loop spans its yields: told step by step, resumption by resumption
                position = self.loop_starting_at(step) if self.frame_kind(frame) not in (
                    "generator", "async generator") else None
                if position is not None:
                    i = self.tell_loop(frame, steps, i, stop, position, indent, nesting)
                    continue
                i = self.tell_line(frame, steps, i, indent, nesting)
                continue
            if kind == "exception":
                self.tell_exception(step, indent)
            elif kind == "call" and i > 0:
                self.emit(indent, f"{self.label(step)}: {self.title(frame)} resumes", step)
            elif kind == "return" and i < len(steps) - 1:
                self.emit(indent, f"{self.label(step)}: {self.title(frame)} {self.suspension_phrase(frame, step)}",
                          step)
            i += 1

    def loop_never_runs(self, frame: int, steps, i: int, following: int | None) -> str:
        """What a loop header says when the frame reaches it and goes on past its body at once, else ''."""
        session = self.session
        step = steps[i]
        if following is None or session.kind(following) == "exception" or self.code(frame).suspends:
            return ""
        line = session.line(step)
        loop = next((loop for loop in session.loops(session.file(step)) if loop.header == line), None)
        if loop is None or loop.end == loop.header or loop.header < session.line(following) <= loop.end:
            return ""
        if i > 0 and loop.header <= session.line(steps[i - 1]) <= loop.end:
            return ""  # the check that ends the loop after its iterations (told as the loop's end)
        if self.index(step).text(line).startswith("while"):
            return "the condition is false at once, so the loop body never runs"
        return "there is nothing to iterate over, so the loop body never runs"

    def loop_starting_at(self, step: int) -> LoopPosition | None:
        position = self.session.loop_at(step)
        if position is None or position.header_line != self.session.line(step) or position.iteration_steps[0] != step:
            return None
        return position

    def line_effects(self, frame: int, steps, i: int, *, bindings: bool = False) -> tuple[str, list[int], int]:
        """What the line at ``steps[i]`` did: the phrase, the frames it called, the index of the frame's next step.

        A line that awaits spans the frame's suspensions and resumptions up to its next step:
        the changes are those of the whole span, and how often it waited is said.
        """
        session = self.session
        step = steps[i]
        j, suspended = self.span_end(frame, steps, i)
        following = steps[j] if j < len(steps) else None
        end = following if following is not None else len(session)
        index = self.index(step)
        line = session.line(step)
        parts = []
        changes = self._span_changes(steps, i + 1, j)
        if changes and self.frame_kind(frame) == "class":
            changes = {k: v for k, v in changes.items() if k not in _CLASS_MACHINERY}
        defines = index.defines(line)
        if defines and changes:
            verb = {"def": "defines", "class": "defines class", "import": "imports"}[defines]
            parts.append(f"{verb} {', '.join(changes)}")
        elif changes and bindings:
            parts.append(", ".join(f"{name} = {clip(new) if new is not None else '(deleted)'}"
                                   for name, (_, new) in changes.items()))
        elif changes:
            parts.append(changes_phrase(changes))
        branch = index.branch(line)
        if branch is not None and following is not None and session.kind(following) == "line":
            taken = branch.body[0] <= session.line(following) <= branch.body[1]
            parts.append("the condition is true" if taken else "the condition is false")
        skipped = self.loop_never_runs(frame, steps, i, following)
        if skipped:
            parts.append(skipped)
        if suspended:
            parts.append(f"{self.title(frame)} waits here (suspended {plural(suspended, 'time')} at the `await`)")
        printed = session.output_between(step, end - 1)
        if printed:
            parts.append(output_phrase(printed))
        warned = session.stderr_between(step, end - 1)
        if warned:
            parts.append(output_phrase(warned, "stderr"))
        return "; ".join(parts), self.calls_between(frame, step, end), j

    def _span_changes(self, steps, first: int, last: int) -> dict[str, tuple[str | None, str | None]]:
        """The net changes reported on ``steps[first..last]`` (the next step's and those of an await's steps)."""
        session = self.session
        if last >= len(steps):
            last = len(steps) - 1
        if first >= last:
            return session.changes_at(steps[first]) if first < len(steps) else {}
        merged: dict[str, tuple[str | None, str | None]] = {}
        for k in range(first, last + 1):
            for name, (old, new) in session.changes_at(steps[k]).items():
                merged[name] = (merged[name][0] if name in merged else old, new)
        return {name: (old, new) for name, (old, new) in merged.items() if old != new}

    def tell_line(self, frame: int, steps, i: int, indent: int, nesting: int) -> int:
        """Tell the line at ``steps[i]`` and the calls it makes; returns the index of the frame's next step."""
        step = steps[i]
        effects, calls, following = self.line_effects(frame, steps, i)
        if self.index(step).is_docstring(self.session.line(step)):
            text = f"{self.label(step)}: the module's docstring"
        else:
            text = f"{self.label(step)}: `{self.line_text(step)}`"
        self.emit(indent, f"{text} -> {effects}" if effects else text, step)
        for child, call_step in calls:
            self.tell_call(child, indent + 1, nesting, call_step)
        return following

    def tell_exception(self, step: int, indent: int) -> None:
        self.emit(indent, f"{self.label(step)}: {self.exception_phrase(step)}", step)

    def exception_phrase(self, step: int) -> str:
        """``raises ValueError: x``, ``the call raised ..., and it propagates here``, or what an await's signal means."""
        session = self.session
        event = session.event(step)
        if self.is_protocol_exception(step):
            if event.exc_type == "StopAsyncIteration":
                return ("the `async for` has no more items, so it ends "
                        "(StopAsyncIteration is how Python says so; not an error)")
            text = self.index(step).text(session.line(step))
            result = f" with {clip(event.exc_msg)}" if event.exc_msg else ""
            before = step - 1 if step > 0 and session.depth(step - 1) > event.depth else None
            if before is not None and session.kind(before) == "return":
                inner = session.frame(before)
                yielded = before != session.frame_end_step(inner) and self.is_yield(inner, before)
            else:
                yielded = "async for" in text and "await" not in text
            if yielded and "async for" in text:
                return (f"the `async for` gets its next item{f' ({clip(event.exc_msg)})' if event.exc_msg else ''}"
                        " (StopIteration hands it over; not an error)")
            what = "the `yield from`" if "yield from" in text else "the `await`"
            return f"{what} finishes{result} (StopIteration hands the result back; not an error)"
        if self.is_close(step):
            return (f"{self.title(event.frame)} is closed: Python throws GeneratorExit in at its `yield` "
                    "(not an error)")
        caused = step > 0 and session.depth(step - 1) > event.depth
        what = f"{event.exc_type}: {clip(event.exc_msg or '')}".rstrip(": ")
        if caused:
            return f"the call raised {what}, and it propagates here"
        return f"raises {what}"

    def tell_loop(self, frame: int, steps, i: int, stop: int, position: LoopPosition, indent: int,
                  nesting: int) -> int:
        """Tell a loop that starts at ``steps[i]``; returns the index of the frame's first step after it."""
        session = self.session
        header, end_line = position.header_line, position.end_line
        iteration_steps = position.iteration_steps
        total = position.total

        def start_of(k: int) -> int:
            return bisect_left(steps, iteration_steps[k], i)

        last_start = start_of(total - 1)
        exit_index = last_start + 1
        while exit_index < stop:
            step = steps[exit_index]
            kind = session.kind(step)
            if self.internal(frame, steps, exit_index):
                exit_index += 1
                continue
            if kind in ("return", "call") or (kind == "line" and not header <= session.line(step) <= end_line):
                break
            exit_index += 1
        last = exit_index - 1  # the last visit, before the await of an `async for` header that ends the loop
        while last > last_start and self.internal(frame, steps, last):
            last -= 1
        last_visit = steps[last]
        # the recording stopped inside the loop: the frame has no step after it and never returned
        stopped = exit_index >= len(steps) and session.kind(steps[-1]) != "return"
        ends_at_header = (not stopped and last > last_start and session.kind(last_visit) == "line"
                          and session.line(last_visit) == header)
        first = steps[i]
        count = (f"{plural(total, 'iteration')} recorded before the recording stops" if stopped
                 else f"{plural(total, 'iteration')} in all")
        self.emit(indent, f"{self.label(first)}: `{self.line_text(first)}` -> the loop starts ({count})", first)
        shown = list(range(total))
        if total > self.head + self.tail + 1:
            shown = list(range(self.head)) + [-1] + list(range(total - self.tail, total))
        for k in shown:
            if k == -1:
                self.tell_skipped(frame, position, self.head, total - self.tail, indent + 1)
                continue
            lo = start_of(k)
            hi = start_of(k + 1) if k + 1 < total else (last if ends_at_header else exit_index)
            effects, calls, after = self.line_effects(frame, steps, lo, bindings=True)
            self.emit(indent + 1, f"iteration {k + 1:,} of {total:,}" + (f" ({effects})" if effects else ""), steps[lo])
            for child, call_step in calls:
                self.tell_call(child, indent + 2, nesting, call_step)
            self.tell_body(frame, min(after, hi), hi, indent + 2, nesting)
        if stopped:
            self.emit(indent, f"the recording stops here, inside the loop at {self.style.label(header)}, during "
                              f"iteration {total:,}: the loop never ended", last_visit)
        elif ends_at_header:
            effects, calls, _ = self.line_effects(frame, steps, last)
            for child, call_step in calls:
                self.tell_call(child, indent + 1, nesting, call_step)
            done = f"{self.label(last_visit)}: `{self.line_text(last_visit)}` -> the loop ends after {plural(total, 'iteration')}"
            self.emit(indent, done + (f" ({effects})" if effects else ""), last_visit)
        elif exit_index < len(steps) and session.kind(steps[exit_index]) == "line":
            self.emit(indent, f"the loop is left during iteration {total} (for example by `break` or `return`)",
                      steps[exit_index - 1])
        return exit_index

    def tell_skipped(self, frame: int, position: LoopPosition, first: int, last: int, indent: int) -> None:
        """The iterations ``first+1 .. last`` (1-based) in one line, with the net change of each local."""
        session = self.session
        begin = position.iteration_steps[first]
        finish = position.iteration_steps[last]
        before = session.locals_at(begin, frame)  # a header visit reports what the previous iteration did
        after = session.locals_at(finish, frame)
        changed = [change_phrase(name, before.get(name), value) for name, value in after.items()
                   if before.get(name) != value]
        text = f"... {plural(last - first, 'more iteration')} ({first + 1:,} to {last:,}) ..."
        if changed:
            text += " over them " + "; ".join(changed[:6])
        self.emit(indent, text, finish)


def tell_frame(session: Session, frame: int, *, max_lines: int = 200, style: Style = PLAIN) -> str:
    """One call, told in full (arguments in, steps, value out), bounded to ``max_lines``."""
    teller = Teller(session, style, max_items=max_lines)
    try:
        if session.frame_func(frame) == "<module>" and session.frame_parent(frame) is None:
            teller.tell_body(frame, 1, len(session.frame_steps(frame)), 0, 0)
        else:
            teller.tell_call(frame, 0, 0)
    except Stop as stop:
        return teller.render() + f"\n... (stopped after {max_lines} lines, at step {stop.step:,})"
    return teller.render()


def tell_loop_at(session: Session, step: int, *, max_lines: int = 200) -> str:
    """The loop around ``step``, iteration by iteration ('' when the step is in no loop)."""
    position = session.loop_at(step)
    if position is None:
        return ""
    frame = session.frame(step)
    steps = session.frame_steps(frame)
    teller = Teller(session, max_items=max_lines)
    start = bisect_left(steps, position.iteration_steps[0])
    try:
        teller.tell_loop(frame, steps, start, len(steps), position, 0, 0)
    except Stop as stop:
        return teller.render() + f"\n... (stopped after {max_lines} lines, at step {stop.step:,})"
    return teller.render()
