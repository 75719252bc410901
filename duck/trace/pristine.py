"""The builtins as they were when ``duck.trace`` was first imported, for duck's own code in the child.

A program may replace ``builtins.len``, ``open`` or ``print``; Python then uses the replacement
everywhere, including in duck's recorder, which runs inside the program's process. Modules
that run while (or after) the program runs bind ``BUILTINS`` as their ``__builtins__``
(``from duck.trace.pristine import BUILTINS as __builtins__``): the functions they define
look names up there, not in the program's. ``restored()`` puts the saved builtins back for
the stdlib code duck calls once the program is over (``json``, ``traceback``). This module
does nothing else and imports nothing but ``builtins``.
"""

from __future__ import annotations

import builtins

BUILTINS = dict(builtins.__dict__)
__builtins__ = BUILTINS  # this module's own functions too


class restored:
    """``with restored():`` the saved builtins in the ``builtins`` module for the duration, the program's afterwards."""

    def __enter__(self) -> None:
        self._current = dict(builtins.__dict__)
        builtins.__dict__.update(BUILTINS)

    def __exit__(self, *exc) -> None:
        builtins.__dict__.update(self._current)
