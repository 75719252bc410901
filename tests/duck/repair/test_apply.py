"""``--apply`` writes the fix in the file's own format (line endings, encoding, BOM), and an
interrupted apply leaves the old file, no truncated backup and no temporary file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from duck.errors import DuckError
from duck.repair import apply as apply_module
from duck.repair.apply import apply_fix, decode_source, encode_source
from duck.repair.search import Fix

LATIN1_CRLF = ('# -*- coding: latin-1 -*-\r\n'
               'def largest(xs):\r\n'
               '    """Le plus grand élément."""\r\n'
               '    best = xs[0]\r\n'
               '    for x in xs:\r\n'
               '        if x < best:\r\n'
               '            best = x\r\n'
               '    return best\r\n'
               '\r\n'
               'print("résultat:", largest([3, 9, 4]))\r\n')


def test_duck_fix_apply_keeps_crlf_and_latin1(tmp_path):
    prog = tmp_path / "largest.py"
    prog.write_bytes(LATIN1_CRLF.encode("latin-1"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "duck", "fix", "largest.py", "--expect", "résultat: 9",
                           "--max-fixes", "1", "--apply", "--json"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Path(report["backup"]).read_bytes() == LATIN1_CRLF.encode("latin-1")
    written = prog.read_bytes()
    text = written.decode("latin-1")
    assert "élément" in text and "résultat" in text  # still latin-1: é is one byte, not UTF-8's two
    assert written.count(b"\r\n") == LATIN1_CRLF.count("\r\n") and b"\n" not in written.replace(b"\r\n", b"")
    fixed = text.replace("\r\n", "\n")
    assert "if x > best:" in fixed or "if x >= best:" in fixed or "if not (x < best):" in fixed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["largest.py", "largest.py.duck-backup"]


def _fix_for(path: Path, old: str, new: str) -> Fix:
    text, _ = decode_source(path.read_bytes())
    return Fix(file=path, original_source=text, patched_source=text.replace(old, new), diff="", explanation="",
               verified=True, origin="edit", description="test")


@pytest.mark.parametrize("data", [
    "\ufeffx = 1\r\nprint(x)\r\n".encode("utf-8"),                   # a UTF-8 BOM, CRLF
    b"x = 1\rprint(x)\r",                                             # old Mac line ends
    "# coding: cp1252\nx = 1\nprint('\u20ac', x)\n".encode("cp1252"),  # a declared single-byte encoding
])
def test_apply_round_trips_the_files_format(tmp_path, data):
    path = tmp_path / "prog.py"
    path.write_bytes(data)
    text, form = decode_source(data)
    assert encode_source(text, form) == data
    backup = apply_fix(_fix_for(path, "x = 1", "x = 2"))
    assert backup.read_bytes() == data
    assert path.read_bytes() == data.replace(b"x = 1", b"x = 2")


def test_a_fix_the_files_encoding_cannot_hold_is_refused(tmp_path):
    path = tmp_path / "prog.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nx = 1\n")
    with pytest.raises(DuckError, match="cannot store"):
        apply_fix(_fix_for(path, "x = 1", "x = '\u20ac'"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.py"]


@pytest.mark.parametrize("failing_call", [1, 2])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_interrupted_apply_leaves_the_file_and_no_backup_or_temporary(tmp_path, monkeypatch, failing_call, error):
    # call 1 moves the backup in place, call 2 the patched file: either may be where it stops
    path = tmp_path / "prog.py"
    path.write_bytes(b"x = 1\r\nprint(x)\r\n")
    calls = []
    real_replace = os.replace

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == failing_call:
            raise error
        return real_replace(src, dst)

    monkeypatch.setattr(apply_module.os, "replace", replace)
    with pytest.raises(DuckError if isinstance(error, OSError) else KeyboardInterrupt):
        apply_fix(_fix_for(path, "x = 1", "x = 2"))
    assert len(calls) == failing_call
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.py"]
    assert path.read_bytes() == b"x = 1\r\nprint(x)\r\n"
