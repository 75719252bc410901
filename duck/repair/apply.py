"""Writing a chosen fix to the user's file: atomically, after keeping a backup, in the file's own format.

``read_source`` reads a program as duck works on it (text with ``\\n`` line ends) together with
its ``SourceFormat`` (the encoding it declares or its BOM says, and its line ending);
``encode_source`` turns text back into the file's bytes, so a CRLF file stays CRLF, a
``# -*- coding: latin-1 -*-`` file stays latin-1 and a UTF-8 BOM stays. The repair search
writes every candidate copy that way and ``apply_fix`` writes the fix that way.

``apply_fix`` refuses when the file changed since the fix was found (the patch was made
against other text), writes a backup that never overwrites an older one
(``prog.py.duck-backup``, then ``prog.py.duck-backup.1``, ...) and then the patched file, each
through a temporary file in the same folder (flushed to disk, then moved in place with
``os.replace``), so an interrupted apply leaves the old file or the new one, never half of
either, and no temporary file behind.

This is the only module of ``duck.repair`` that writes a user's file, and only when asked.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path

from duck.errors import DuckError


def compiles(source: str) -> bool:
    """Whether ``source`` compiles (a candidate's SyntaxWarning, such as ``None[0]``, is no concern
    of duck's output)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "<candidate>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True

BACKUP_SUFFIX = ".duck-backup"
TEMP_SUFFIX = ".duck-tmp"


@dataclass(frozen=True)
class SourceFormat:
    """How a source file's text is stored: ``encoding`` ("utf-8-sig" when it has a BOM) and ``newline``."""

    encoding: str = "utf-8"
    newline: str = "\n"


def decode_source(data: bytes) -> tuple[str, SourceFormat]:
    """Text (``\\n`` line ends) and format of a source file's bytes; raises SyntaxError or
    UnicodeDecodeError (LookupError for an unknown declared encoding) like Python would."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    newline = "\n"  # the first line ending the file uses
    first_cr, first_lf = text.find("\r"), text.find("\n")
    if first_cr >= 0 and (first_lf < 0 or first_cr < first_lf):
        newline = "\r\n" if text[first_cr + 1:first_cr + 2] == "\n" else "\r"
    return text.replace("\r\n", "\n").replace("\r", "\n"), SourceFormat(encoding, newline)


def read_source(path: Path) -> tuple[str, SourceFormat]:
    """``decode_source`` of a file (OSError when it cannot be read)."""
    return decode_source(Path(path).read_bytes())


def encode_source(text: str, form: SourceFormat) -> bytes:
    """The bytes of ``text`` as a file of format ``form`` (UnicodeEncodeError when it cannot hold the text)."""
    if form.newline != "\n":
        text = text.replace("\n", form.newline)
    return text.encode(form.encoding)


def backup_path(file: Path) -> Path:
    """The first free backup name for ``file``."""
    candidate = file.with_name(file.name + BACKUP_SUFFIX)
    number = 0
    while candidate.exists():
        number += 1
        candidate = file.with_name(f"{file.name}{BACKUP_SUFFIX}.{number}")
    return candidate


def write_atomically(target: Path, data: bytes, *, like: Path) -> None:
    """Put ``data`` at ``target`` through a temporary file in its folder (fsync, then ``os.replace``),
    with the permissions and times of ``like``; on any failure the temporary file is removed."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        shutil.copystat(like, temporary)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:  # the rename itself reaches the disk
        folder = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def apply_fix(fix) -> Path:
    """Write ``fix.patched_source`` over ``fix.file`` in the file's own format; returns the backup's path."""
    file = Path(fix.file)
    try:
        original = file.read_bytes()
        current, form = decode_source(original)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise DuckError(f"cannot read {file} to apply the fix: {getattr(exc, 'strerror', None) or exc}",
                        "check that the file still exists and is readable") from None
    if current != fix.original_source:
        raise DuckError(f"{file} changed since duck searched for this fix; nothing was written",
                        "run duck fix again on the file as it is now")
    try:
        patched = encode_source(fix.patched_source, form)
    except UnicodeEncodeError as exc:
        raise DuckError(f"the fix holds characters that {file}'s encoding ({form.encoding}) cannot store: "
                        f"{exc.object[exc.start:exc.end]!r}; nothing was written",
                        "save the file as UTF-8 and run duck fix again") from None
    backup = backup_path(file)
    try:
        write_atomically(backup, original, like=file)
        try:
            write_atomically(file, patched, like=file)
        except BaseException:
            backup.unlink(missing_ok=True)  # nothing was changed: no backup of it either
            raise
    except OSError as exc:
        raise DuckError(f"cannot write the fix to {file}: {exc.strerror or exc}",
                        "check the folder's permissions; the original is unchanged") from None
    return backup
