"""The argument parser and the value types of every ``duck`` and ``duck-train`` command.

A bad value on the command line is said the way every other failure is: one ``error:`` line,
one ``hint:`` line, exit status 2, before any work starts (``Parser.error``; no usage dump,
never a traceback). The types (``whole_number``, ``number``, ``seed``, ``output_folder``,
``output_file``, ``input_file``) check a value the moment argparse reads it. This module
only parses; it imports nothing heavy and opens no file for writing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

_HINT = "\nhint: "


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, as wide as the terminal, found without importing ``shutil``.

    argparse builds a formatter for every argument it adds (to check its metavar) and the default
    one asks ``shutil.get_terminal_size`` each time: ``shutil`` and the archive modules it loads
    are ~2 ms of ``duck record``'s start-up. The width is the same (COLUMNS, else the terminal's,
    else 80).
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: COLUMNS when it is a positive number, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


_REQUIRED = "the following arguments are required: "


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are ``error:`` / ``hint:`` lines (exit 2), and whose help
    is as wide as the terminal (``_Formatter``, for its subcommands' parsers too)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401 - argparse's name
        text, _, hint = message.partition(_HINT)
        if text.startswith(_REQUIRED):  # argparse also names a missing ARGS..., which may be left out
            optional = {action.metavar or action.dest for action in self._actions
                        if action.nargs in (argparse.REMAINDER, argparse.ZERO_OR_MORE, argparse.OPTIONAL)}
            names = [name for name in text[len(_REQUIRED):].split(", ") if name not in optional]
            text = _REQUIRED + ", ".join(names) if names else text
        self.exit(2, f"error: {text}\nhint: {hint or f'see `{self.prog} --help`'}\n")


def _bad(message: str, hint: str) -> argparse.ArgumentTypeError:
    """The error a type raises; ``Parser.error`` splits the hint off again."""
    return argparse.ArgumentTypeError(f"{message}{_HINT}{hint}")


def whole_number(minimum: int = 1, maximum: int | None = None, hint: str | None = None) -> Callable[[str], int]:
    """A type for whole numbers from ``minimum`` to ``maximum`` (no upper bound by default)."""
    span = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise _bad(f"{text!r} is not a whole number {span}", hint or f"give a whole number {span}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(minimum: float = 0.0, *, inclusive: bool = False, hint: str | None = None) -> Callable[[str], float]:
    """A type for finite numbers above ``minimum`` (or equal to it with ``inclusive``); never nan or inf."""
    span = f"{'at least' if inclusive else 'above'} {minimum:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
            raise _bad(f"{text!r} is not a number {span}", hint or f"give a number {span}, e.g. {max(minimum, 0) + 1:g}")
        return value

    parse.__name__ = "number"
    return parse


#: ``random.seed`` and ``PYTHONHASHSEED`` both take these
seed = whole_number(0, 2**32 - 1, hint="a seed is a whole number from 0 to 4294967295, e.g. --seed 0")


def _writable_place(path: Path) -> str | None:
    """Why nothing can be created at ``path`` (its nearest existing folder is missing or read-only), or None."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return None


def output_folder(text: str) -> Path:
    """A folder to write into: an existing folder we may write in, or one that can be created."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise _bad(f"{text} is a file, not a folder", "give a folder (new or existing) for the output")
    problem = (None if os.access(path, os.W_OK | os.X_OK) else f"{path} is not writable") if path.is_dir() \
        else _writable_place(path)
    if problem:
        raise _bad(f"cannot write into {text}: {problem}", "choose a folder you can write to")
    return path


def output_file(text: str) -> str:
    """A file to write: not a folder, in a folder that exists or can be created, and writable
    (the text as given, as a plain ``str`` flag would be)."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise _bad(f"{text} is a folder, not a file", "name a file (new or existing) inside that folder")
    problem = (None if os.access(path, os.W_OK) else f"{path} is not writable") if path.exists() \
        else _writable_place(path)
    if problem:
        raise _bad(f"cannot write {text}: {problem}", "choose a path you can write to")
    return text


def input_file(text: str) -> str:
    """A file to read that exists and is not empty (the text as given)."""
    path = Path(text).expanduser()
    if not path.exists():
        raise _bad(f"{text}: no such file", "check the path")
    if not path.is_file():
        raise _bad(f"{text} is not a file", "give the path of a file")
    if path.stat().st_size == 0:
        raise _bad(f"{text} is empty", "give a file that holds the data")
    return text
