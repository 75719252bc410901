"""The other files of a program that a fix may edit: the modules its driver or its tests import.

``duck fix driver.py --expect ...`` records the whole run, so the recording already says which
files of the program's folder ran; the bug may sit in any of them. ``module_files`` lists the
ones a fix may edit (Python files under the copied folder that ran, other than the program
itself and test files, which are the oracle). A candidate for such a file travels to the runner
as a ``FileSource`` (its text, and its path relative to the folder), and a ``TargetedWorkspace``
writes it there in the run's fresh copy instead of replacing the program: the runner itself
(``duck.repair.verify``) stays as it is.

This module chooses files and writes candidate copies; it neither edits nor runs anything.
"""

from __future__ import annotations

from pathlib import Path

from duck.repair.verify import Workspace
from duck.session import Session

MAX_MODULES = 8   # files besides the program whose lines are searched


class FileSource(str):
    """A candidate's text for one file other than the program; ``path`` is relative to the copied folder."""

    path: Path

    def __new__(cls, text: str, path: str | Path) -> "FileSource":
        made = super().__new__(cls, text)
        made.path = Path(path)
        return made


class TargetedWorkspace(Workspace):
    """A ``Workspace`` whose fresh copies take a ``FileSource`` for the file it names."""

    def fresh_copy(self, source: str | None) -> Path:
        if isinstance(source, FileSource):
            target = super().fresh_copy(None)
            (target / "root" / source.path).write_text(str(source), encoding="utf-8")
            return target
        return super().fresh_copy(source)


def _is_test_file(path: Path) -> bool:
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def module_files(session: Session, copy_root: Path, script: Path) -> list[Path]:
    """Files (relative to the copied folder) that ran in ``session`` and a fix may edit, the one
    that ran most lines first: under ``copy_root``, ``.py``, not the program, not a test file."""
    ran: list[tuple[int, str, Path]] = []
    for file in session.files:
        path = Path(file)
        try:
            relative = path.relative_to(copy_root)
        except ValueError:
            continue
        if path.suffix != ".py" or relative == script or _is_test_file(relative):
            continue
        if any(part in ("site-packages", ".venv", "venv") for part in relative.parts):
            continue
        ran.append((-len(session.executed_lines(file)), str(relative), relative))
    return [relative for _, _, relative in sorted(ran)[:MAX_MODULES]]
