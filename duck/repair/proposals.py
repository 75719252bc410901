"""What the fix search verifies: a new text of one file, from whoever proposed it.

The edit generator (``duck.repair.edits``, turned into texts by the search) and a model
(``duck.repair.model_edits``) both hand ``Proposal``s to the search, which checks every one the
same way (``duck.repair.search.Search``: ``check_in_order`` for a ranked list, ``follow`` for a
proposer that wants to see each result before it proposes again) and answers with the
``duck.repair.verify.RunResult`` of the check. This module holds only the data; it runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Proposal:
    """The whole new text of one file and what it is, in a few words."""

    source: str
    description: str
    origin: str = "edit"               # "edit" (model-free) or "model"
    file: str | None = None            # the file, relative to the program's folder (None: the program)
    keep_unverified: bool = False      # shown as an unverified proposal when it fails (a model's answer)
