"""``KeyBar``: Textual's key footer, which drops its least important keys when the terminal is too narrow.

Textual's ``Footer`` lays its keys out in a row and cuts the row at the terminal's edge, so at
80 columns duck's last keys ("? help", "q quit") were the ones lost. ``KeyBar`` is given the
actions in order of importance; after each layout it hides whole keys, least important first,
until the row fits, so the keys that explain everything else stay. It only shows keys; the
bindings, and the user's remapping of them, are the app's.
"""

from __future__ import annotations

from typing import Sequence

from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyBar(Footer):
    """A ``Footer`` that keeps the keys whose actions come first in ``priority`` (others go first)."""

    def __init__(self, priority: Sequence[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.priority = list(priority)

    async def recompose(self) -> None:
        await super().recompose()  # the bindings changed: new keys, each shown again
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _importance(self, index: int, key: FooterKey) -> int:
        """Lower is more important; an action not in ``priority`` ranks after all, by its place."""
        if key.action in self.priority:
            return self.priority.index(key.action)
        return len(self.priority) + index

    def _fit(self) -> None:
        width = self.content_size.width
        keys = list(self.query(FooterKey))
        if not width or not keys:
            return
        wanted = sorted(range(len(keys)), key=lambda i: self._importance(i, keys[i]))
        shown: set[int] = set()
        used = 0
        for index in wanted:
            used += keys[index].render().cell_len
            if used > width:  # this key and every less important one are dropped
                break
            shown.add(index)
        for index, key in enumerate(keys):
            key.display = index in shown

    @property
    def shown_actions(self) -> list[str]:
        """The actions whose keys are on screen now, left to right."""
        return [key.action for key in self.query(FooterKey) if key.display]
