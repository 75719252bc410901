"""``CallStackPane``: the recorded call stack at the current step, innermost frame first.

A frame is named as the narration names it (``module helper's top-level code``, ``the setter of
property Tank.level``; a function by its name). Highlighting a frame posts ``FrameSelected``; the app then shows that frame's locals and
position. Very deep stacks (recursion) are cut to the innermost ``MAX_FRAMES`` with a note.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from duck.narration import frame_title
from duck.widgets.messages import FrameSelected

MAX_FRAMES = 100


class CallStackPane(OptionList):
    DEFAULT_CSS = """
    CallStackPane { background: $surface; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._frames: list[int] = []
        self._shown: tuple | None = None
        self._frame_lines: list[int] | None = None
        self._step = 0

    def show(self, session, step: int, selected: int | None) -> None:
        """List the frames at ``step``. Same frames as before: only the rows whose line moved are
        relabelled; as many frames as before: every row is relabelled (neither lays the screen out
        again); otherwise the list is rebuilt."""
        self._step = step
        chain = session.frame_chain(step, MAX_FRAMES + 1) if len(session) else []
        lines = [session.frame_line(frame, step) for frame in chain[:MAX_FRAMES]]
        frames_key = (id(session), tuple(chain), selected)
        if frames_key == self._shown and self._frame_lines is not None:
            for index, (frame, line) in enumerate(zip(chain, lines)):
                if line != self._frame_lines[index]:
                    self.replace_option_prompt_at_index(index, self._label(session, frame, line))
            self._frame_lines = lines
            return
        same_count = (self._shown is not None and self._shown[0] == id(session) and chain
                      and len(chain) == len(self._frames) == self.option_count)
        self._shown = frames_key
        self._frame_lines = lines
        if same_count:  # as many frames as shown (a call returned, another was made): relabelled, no new layout
            with self.prevent(OptionList.OptionHighlighted):
                for index, (frame, line) in enumerate(zip(chain, lines)):
                    self.replace_option_prompt_at_index(index, self._label(session, frame, line))
                self._frames = list(chain)
                self.highlighted = self._frames.index(selected) if selected in self._frames else None
            return
        with self.prevent(OptionList.OptionHighlighted):  # the app moved the step; the user picked nothing
            self.clear_options()
            self._frames = []
            if not chain:
                return
            options = []
            for frame, line in zip(chain, lines):
                options.append(Option(self._label(session, frame, line)))
                self._frames.append(frame)
            if len(chain) > MAX_FRAMES:
                depth = session.depth(step) + 1
                note = Text(f"… {depth - MAX_FRAMES} outer frames not shown", "italic dim")
                options.append(Option(note, disabled=True))
            self.add_options(options)
            if selected in self._frames:
                self.highlighted = self._frames.index(selected)

    @staticmethod
    def _label(session, frame: int, line: int) -> Text:
        return Text.assemble((frame_title(session, frame), "bold"), "  ",
                             (f"{Path(session.frame_file(frame)).name}:{line}", "dim"))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index >= len(self._frames):
            return
        self.post_message(FrameSelected(self._frames[event.option_index], self._step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self._frames):
            self.post_message(FrameSelected(self._frames[event.option_index], self._step))
