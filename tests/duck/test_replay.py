"""``duck replay`` and ``duck convert``, and ``duck record --format``: both trace formats, one narration."""

from __future__ import annotations

from pathlib import Path

from duck.cli import main as duck_main
from duck.trace.binary import is_v2
from duck.trace.format import read_trace

PROGRAMS = Path(__file__).resolve().parent / "trace" / "programs"


def test_record_writes_v2_by_default_and_v1_on_request(tmp_path):
    assert duck_main(["record", str(PROGRAMS / "average.py"), "-o", str(tmp_path / "a.trace"), "--quiet"]) == 0
    assert duck_main(["record", str(PROGRAMS / "average.py"), "-o", str(tmp_path / "b.trace"), "--quiet",
                      "--format", "jsonl"]) == 0
    assert is_v2(tmp_path / "a.trace")
    assert (tmp_path / "b.trace").read_bytes().startswith(b'{"format": "duck-trace", "version": 1')
    assert read_trace(tmp_path / "a.trace").events == read_trace(tmp_path / "b.trace").events


def test_replay_narrates_either_format_the_same(tmp_path, capsys):
    duck_main(["record", str(PROGRAMS / "crash.py"), "-o", str(tmp_path / "a.trace"), "--quiet"])
    assert duck_main(["convert", str(tmp_path / "a.trace"), "-o", str(tmp_path / "a.jsonl")]) == 0
    assert not is_v2(tmp_path / "a.jsonl")
    capsys.readouterr()
    status_v2 = duck_main(["replay", str(tmp_path / "a.trace"), "--plain"])
    text_v2 = capsys.readouterr().out
    status_v1 = duck_main(["replay", str(tmp_path / "a.jsonl"), "--plain"])
    text_v1 = capsys.readouterr().out
    assert status_v2 == status_v1 == 1
    assert text_v1 == text_v2 and "### Outcome" in text_v2
    assert duck_main(["convert", str(tmp_path / "a.jsonl"), "-o", str(tmp_path / "b.trace"), "--format", "binary"]) == 0
    assert read_trace(tmp_path / "b.trace").events == read_trace(tmp_path / "a.trace").events


def test_replay_of_something_else_is_an_error_with_a_hint(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("hello\n")
    assert duck_main(["replay", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "hint:" in err
