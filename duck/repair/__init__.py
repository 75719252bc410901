"""Verified fixes: oracles, fault localisation, candidate edits, re-running them, applying one.

``search_fixes(RepairRequest(...))`` returns only fixes that duck re-ran and the oracle
passed; ``apply_fix(fix)`` writes one atomically and keeps a backup. See
``duck/repair/search.py`` for the search and docs/architecture.md for the interface. Nothing
heavy is imported here: models load only when a backend is given.
"""

from duck.repair.apply import apply_fix
from duck.repair.search import Fix, RepairRequest, RepairResult, search, search_fixes

__all__ = ["Fix", "RepairRequest", "RepairResult", "apply_fix", "search", "search_fixes"]
