"""Which code is the user's: the recorder's policy, apart from its mechanism.

``FileFilter(include, exclude)`` decides once per file whether the code in it is recorded;
``default_excludes()`` lists what never is (the standard library, site-packages, the virtualenv,
duck itself). The tracing backends (``recorder``, ``monitoring``) only ask it, once per code
object, and switch the events of code that is not the user's off at once. Stdlib only; it runs
in the recording child, so it imports nothing heavy.
"""

from __future__ import annotations

import os
import sys

from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - immune to a program's builtins.len = ...
from duck.trace.pristine import restored as pristine_builtins

_DUCK_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep


def default_excludes() -> list[str]:
    """Paths that are never the user's: the standard library, site-packages, the virtualenv, duck itself."""
    import sysconfig

    paths = {_DUCK_DIR, sys.prefix + os.sep, sys.base_prefix + os.sep, sys.exec_prefix + os.sep}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            paths.add(value.rstrip(os.sep) + os.sep)
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            paths.add(entry.rstrip(os.sep) + os.sep)
    return sorted(paths)


class FileFilter:
    """Decides once per file whether its code is the user's: under an include prefix and under no exclude prefix.

    An exclude prefix only wins over an include prefix that is shorter (less specific), so a
    script that lives inside a virtualenv folder the user named with ``--include`` is still
    recorded. Names such as ``<sample>`` match only when listed in ``include`` exactly.
    """

    def __init__(self, include: list[str], exclude: list[str], implicit_exclude: list[str] | None = None) -> None:
        self.include = [self._norm(p) for p in include]
        self.exclude = [self._norm(p) for p in exclude]
        self.implicit = [self._norm(p) for p in (implicit_exclude if implicit_exclude is not None else default_excludes())]
        self._cache: dict[str, bool] = {}

    @staticmethod
    def _norm(path: str) -> str:
        if path.startswith("<"):
            return path
        path = os.path.abspath(path)
        return path if path.endswith(os.sep) or os.path.isfile(path) else path + os.sep

    def __call__(self, filename: str) -> bool:
        known = self._cache.get(filename)
        if known is None:
            with pristine_builtins():  # once per file; os.path may meet a program's builtins.isinstance = ...
                known = self._cache[filename] = self._decide(filename)
        return known

    def _decide(self, filename: str) -> bool:
        if filename.startswith("<"):
            return filename in self.include
        path = os.path.abspath(filename)
        best_include = max((len(p) for p in self.include if path == p or path.startswith(p)), default=-1)
        if best_include < 0:
            return False
        for p in self.exclude:
            if path == p or path.startswith(p):
                return False
        for p in self.implicit:
            if (path == p or path.startswith(p)) and len(p) > best_include:
                return False
        return True
