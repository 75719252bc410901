"""The teller: walks a recording frame by frame and tells it as nested bullet items.

``Teller`` turns steps into sentences ("line 7: `total += x` -> total goes from 3 to 7"),
each call with its arguments and its result, loops iteration by iteration (long loops
summarised: the first iterations, "... N more iterations ...", the last ones). It stops with
``Stop`` when it has said ``max_items`` items. ``tell_frame`` and ``tell_loop_at`` tell one
call and one loop, bounded. Lines are labelled by a ``Style``: ``line 7`` for people,
``[L11]`` for SemCoder's prompts.

Every sentence comes from the trace (values, lines, calls, output) or the recorded source.
It does not word the outcome (``duck.narration.outcome``) and does not choose what to tell
for a scope (``duck.narration.narrator``).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable

from duck.narration.code import SourceIndex, source_index
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
        self._kinds: dict[int, str] = {}

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
        """(frame, call step) of each call or generator resumption made by ``frame`` between two of its steps."""
        session = self.session
        found = []
        step = after + 1
        while step < before:
            child = session.frame(step)
            if session.kind(step) == "call" and session.frame_parent(child) == frame:
                found.append((child, step))
                step = session.frame_steps(child)[self.segment_end(child, step)] + 1
            else:
                step += 1
        return found

    def frame_kind(self, frame: int) -> str:
        """``class`` (a class body), ``generator`` or ``function``, read off the code at its first line."""
        kind = self._kinds.get(frame)
        if kind is None:
            call_step = self.session.frame_call_step(frame)
            index = self.index(call_step)
            func = self.session.frame_func(frame)
            if func.endswith("<genexpr>"):
                kind = "generator"
            else:
                kind = index.code_kind(self.session.line(call_step))
            self._kinds[frame] = kind
        return kind

    def segment_end(self, frame: int, call_step: int) -> int:
        """Index in the frame's steps where the activation begun at ``call_step`` ends (a yield, or the end)."""
        steps = self.session.frame_steps(frame)
        if self.frame_kind(frame) != "generator":
            return len(steps) - 1
        i = bisect_left(steps, call_step) + 1
        while i < len(steps) - 1 and self.session.kind(steps[i]) != "return":
            i += 1
        return min(i, len(steps) - 1)

    def segment_result(self, frame: int, end_index: int) -> str:
        steps = self.session.frame_steps(frame)
        if end_index < len(steps) - 1:
            return f"yields {clip(self.session.event(steps[end_index]).value or 'None')}"
        if self.frame_kind(frame) == "generator" and self.session.kind(steps[-1]) == "return":
            value = self.session.event(steps[-1]).value
            if value in (None, "None") and not (len(steps) > 1 and self.session.kind(steps[-2]) == "exception"):
                return "is exhausted"
        return self.frame_result(frame)

    def frame_result(self, frame: int) -> str:
        """``returns 3``, ``raises IndexError: ...`` or ``is still running when the recording stops``."""
        session = self.session
        steps = session.frame_steps(frame)
        last = session.event(steps[-1])
        previous = session.event(steps[-2]) if len(steps) > 1 else None
        if last.kind == "exception":
            return f"raises {last.exc_type}: {clip(last.exc_msg or '')}".rstrip(": ")
        if last.kind == "return":
            if previous is not None and previous.kind == "exception" and (last.value is None or last.value == "None"):
                return f"raises {previous.exc_type}: {clip(previous.exc_msg or '')}".rstrip(": ")
            if last.value is None:
                return "ends by an exception"
            return f"returns {clip(last.value)}"
        return "is still running when the recording stops"

    # ------------------------------------------------------------------ telling
    def tell_top_level(self, start: int = 0) -> None:
        session = self.session
        step = start
        while step < len(session):
            frame = session.frame(step)
            if session.frame_call_step(frame) != step:
                step += 1
                continue
            if session.frame_func(frame) == "<module>":
                self.tell_body(frame, 1, len(session.frame_steps(frame)), 0, 0)
            else:
                self.tell_call(frame, 0, 0)
            step = session.frame_end_step(frame) + 1

    def tell_call(self, frame: int, indent: int, nesting: int, call_step: int | None = None) -> None:
        """A call (or a generator's resumption): arguments in, its steps, value out."""
        session = self.session
        steps = session.frame_steps(frame)
        first_call = session.frame_call_step(frame)
        call_step = first_call if call_step is None else call_step
        start = bisect_left(steps, call_step)
        end = self.segment_end(frame, call_step)
        kind = self.frame_kind(frame)
        name = short_func(session.frame_func(frame))
        if kind == "class":
            opening, closing = f"runs the body of class {name}", f"the body of class {name} ends"
        elif call_step != first_call:
            opening, closing = f"resumes {name}", f"{name} {self.segment_result(frame, end)}"
        else:
            args = {k: v for k, v in session.event(call_step).changes.items() if k != ".0"}
            opening = f"calls {call_text(session.frame_func(frame), args)}"
            closing = f"{name} {self.segment_result(frame, end)}"
        if nesting >= self.max_nesting:
            compact = opening if kind == "class" else f"{opening}, which {closing[len(name) + 1:]}"
            self.emit(indent, compact, call_step)
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
                position = self.loop_starting_at(step) if self.frame_kind(frame) != "generator" else None
                if position is not None:
                    i = self.tell_loop(frame, steps, i, stop, position, indent, nesting)
                    continue
                self.tell_line(frame, steps, i, indent, nesting)
            elif kind == "exception":
                self.tell_exception(step, indent)
            elif kind == "call" and i > 0:
                self.emit(indent, f"{self.label(step)}: {short_func(session.frame_func(frame))} resumes", step)
            elif kind == "return" and i < len(steps) - 1:
                value = session.event(step).value
                self.emit(indent, f"{self.label(step)}: yields {clip(value or 'None')}", step)
            i += 1

    def loop_starting_at(self, step: int) -> LoopPosition | None:
        position = self.session.loop_at(step)
        if position is None or position.header_line != self.session.line(step) or position.iteration_steps[0] != step:
            return None
        return position

    def line_effects(self, frame: int, steps, i: int, *, bindings: bool = False) -> tuple[str, list[int], int | None]:
        """What the line at ``steps[i]`` did: the phrase, the frames it called, the frame's next step."""
        session = self.session
        step = steps[i]
        following = steps[i + 1] if i + 1 < len(steps) else None
        end = following if following is not None else len(session)
        index = self.index(step)
        line = session.line(step)
        parts = []
        changes = session.changes_at(following) if following is not None else {}
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
        printed = session.output_between(step, end - 1)
        if printed:
            parts.append(output_phrase(printed))
        return "; ".join(parts), self.calls_between(frame, step, end), following

    def tell_line(self, frame: int, steps, i: int, indent: int, nesting: int) -> None:
        step = steps[i]
        effects, calls, _ = self.line_effects(frame, steps, i)
        if self.index(step).is_docstring(self.session.line(step)):
            text = f"{self.label(step)}: the module's docstring"
        else:
            text = f"{self.label(step)}: `{self.line_text(step)}`"
        self.emit(indent, f"{text} -> {effects}" if effects else text, step)
        for child, call_step in calls:
            self.tell_call(child, indent + 1, nesting, call_step)

    def tell_exception(self, step: int, indent: int) -> None:
        session = self.session
        event = session.event(step)
        caused = step > 0 and session.depth(step - 1) > event.depth
        what = f"{event.exc_type}: {clip(event.exc_msg or '')}".rstrip(": ")
        if caused:
            self.emit(indent, f"{self.label(step)}: the call raised {what}, and it propagates here", step)
        else:
            self.emit(indent, f"{self.label(step)}: raises {what}", step)

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
            if kind in ("return", "call") or (kind == "line" and not header <= session.line(step) <= end_line):
                break
            exit_index += 1
        last_visit = steps[exit_index - 1]
        ends_at_header = (exit_index - 1 > last_start and session.kind(last_visit) == "line"
                          and session.line(last_visit) == header)
        first = steps[i]
        self.emit(indent, f"{self.label(first)}: `{self.line_text(first)}` -> the loop starts "
                          f"({plural(total, 'iteration')} in all)", first)
        shown = list(range(total))
        if total > self.head + self.tail + 1:
            shown = list(range(self.head)) + [-1] + list(range(total - self.tail, total))
        for k in shown:
            if k == -1:
                self.tell_skipped(frame, position, self.head, total - self.tail, indent + 1)
                continue
            lo = start_of(k)
            hi = start_of(k + 1) if k + 1 < total else (exit_index - 1 if ends_at_header else exit_index)
            effects, calls, _ = self.line_effects(frame, steps, lo, bindings=True)
            self.emit(indent + 1, f"iteration {k + 1:,} of {total:,}" + (f" ({effects})" if effects else ""), steps[lo])
            for child, call_step in calls:
                self.tell_call(child, indent + 2, nesting, call_step)
            self.tell_body(frame, lo + 1, hi, indent + 2, nesting)
        if ends_at_header:
            effects, calls, _ = self.line_effects(frame, steps, exit_index - 1)
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
        if session.frame_func(frame) == "<module>":
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
