"""Writing a chosen fix to the user's file: atomically, after keeping a backup.

``apply_fix`` refuses when the file changed since the fix was found (the patch was made
against other text), copies the file to a backup that never overwrites an older one
(``prog.py.duck-backup``, then ``prog.py.duck-backup.1``, ...), writes the patched text to
a temporary file in the same folder with the original's permissions, and moves it over the
file with ``os.replace``, so a crash leaves either the old file or the new one, never half.

This is the only module of ``duck.repair`` that writes a user's file, and only when asked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from duck.errors import DuckError

BACKUP_SUFFIX = ".duck-backup"


def backup_path(file: Path) -> Path:
    """The first free backup name for ``file``."""
    candidate = file.with_name(file.name + BACKUP_SUFFIX)
    number = 0
    while candidate.exists():
        number += 1
        candidate = file.with_name(f"{file.name}{BACKUP_SUFFIX}.{number}")
    return candidate


def apply_fix(fix) -> Path:
    """Write ``fix.patched_source`` over ``fix.file``; returns the backup's path."""
    file = Path(fix.file)
    try:
        current = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DuckError(f"cannot read {file} to apply the fix: {getattr(exc, 'strerror', None) or exc}",
                        "check that the file still exists and is readable") from None
    if current != fix.original_source:
        raise DuckError(f"{file} changed since duck searched for this fix; nothing was written",
                        "run duck fix again on the file as it is now")
    backup = backup_path(file)
    try:
        shutil.copy2(file, backup)
        mode = os.stat(file).st_mode & 0o7777
        descriptor, temporary = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".duck-tmp", dir=file.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
                stream.write(fix.patched_source)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, file)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise DuckError(f"cannot write the fix to {file}: {exc.strerror or exc}",
                        f"check the folder's permissions; the original is unchanged (backup attempted at {backup})") from None
    return backup
