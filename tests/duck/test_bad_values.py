"""Every bad value on a `duck` or `duck-train` command line: one `error:` line, one `hint:` line,
exit status 2, before any work (nothing printed on standard output), never a traceback."""

from __future__ import annotations

import json

import pytest

from tests.duck.test_model_settings import clean_settings  # noqa: F401 - fixture

# {P}: a program, {D}: a folder, {F}: a plain file, {T}: a trace, {E}: an empty file,
# {B}: a file of blank lines, {C}: a CRUXEval file, {N}: a path that does not exist
DUCK = [
    "fix {P} --jobs -3", "fix {P} --jobs 0", "fix {P} --max-fixes 0", "fix {P} --max-candidates -1",
    "fix {P} --time-budget 0", "fix {D}", "fix {T}", "fix {N}",
    "run --plain {P} --timeout -1", "run --plain {P} --timeout nan", "run --plain {P} --timeout 0",
    "run --plain {P} --timeout inf", "run --plain {P} --max-steps -1", "run --plain {P} --max-steps 0",
    "run --plain {P} --max-output -1", "run --plain {P} --repr-limit -1", "run --plain {P} --max-memory 0",
    "run --plain {P} --seed -1", "record {P} --seed -1", "record {P} --seed x", "record {P} -o {D}",
    "run --plain {P} --save {D}", "record {P} -o {F}/x.trace", "run --plain --model {N} {P}",
    "run --plain --endpoint http://127.0.0.1:9/v1 {P}", "run --plain {T}", "record {T}",
    "replay {P}", "replay {N}", "replay {E}", "run --plain {P} --stdin {N}", "run --plain {P} --expect-file {N}",
]
TRAIN = [
    "corpus seeds --out {F}", "corpus seeds --out {F}/sub", "corpus extract --out {D} --workers 0",
    "corpus monologue --out {D} --samples 0", "corpus monologue --out {D} --max-new-tokens -5",
    "eval cruxeval-o --workers 0 --data {C} --model x", "eval cruxeval-o --output {D} --data {C} --model x",
    "eval cruxeval-o --data {E} --model x", "eval cruxeval-o --data {N} --model x",
    "eval cruxeval-o --data {B} --predictions {C}", "eval cruxeval-o --data {C}",
    "eval cruxeval-o --data {C} --model x --n 0", "eval refine --data {C} --model x --rounds 9",
    "eval cruxeval-o --data {C} --model x --limit 0", "eval cruxeval-o --data {C} --model x --temperature -1",
    "eval cruxeval-o --data {C} --model x --batch-size 0", "eval cruxeval-o --data {C} --model {N}",
    "semcoder --batch-size 0", "semcoder --grad-accum 0", "semcoder --output-dir {F}", "semcoder --lr -1",
    "semcoder --lr nan", "refine --seed -1", "semcoder --max-steps -1", "semcoder --epochs 0",
    "semcoder --num-processes 0", "semcoder --warmup-steps -1",
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    from duck.cli import main

    tmp_path = tmp_path_factory.mktemp("bad-values")
    program = tmp_path / "prog.py"
    program.write_text("print('ran')\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    plain = tmp_path / "plain.txt"
    plain.write_text("text\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    crux = tmp_path / "crux.jsonl"
    crux.write_text(json.dumps({"id": "sample_0", "code": "def f(x):\n    return x", "input": "1", "output": "1"}) + "\n")
    trace = tmp_path / "prog.trace"
    assert main(["record", str(program), "-o", str(trace), "--quiet"]) == 0
    return {"P": program, "D": folder, "F": plain, "T": trace, "E": empty, "B": blank, "C": crux,
            "N": tmp_path / "missing"}


def _run(main, line: str, places: dict) -> int:
    return main(line.format(**places).split())


def _assert_error_and_hint(status: int, captured) -> None:
    lines = captured.err.splitlines()
    assert status == 2, captured.err
    assert lines and lines[0].startswith("error: "), captured.err
    assert len(lines) > 1 and lines[1].startswith("hint: "), captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""  # no work was done, nothing was printed


@pytest.mark.parametrize("line", DUCK)
def test_duck_bad_values(line, places, clean_settings, capsys):  # noqa: F811 - the imported fixture
    from duck.cli import main

    capsys.readouterr()
    _assert_error_and_hint(_run(main, line, places), capsys.readouterr())


@pytest.mark.parametrize("line", TRAIN)
def test_duck_train_bad_values(line, places, clean_settings, capsys):  # noqa: F811
    from trainer.cli import main

    capsys.readouterr()
    _assert_error_and_hint(_run(main, line, places), capsys.readouterr())


@pytest.mark.parametrize("missing,line", [("trl", "semcoder --output-dir {D}"), ("transformers", "refine --dry-run")])
def test_training_without_the_training_extras_says_what_to_install(missing, line, places, monkeypatch, capsys):
    from trainer.cli import main

    monkeypatch.setitem(__import__("sys").modules, missing, None)  # as in the light install
    capsys.readouterr()
    status = _run(main, line, places)
    captured = capsys.readouterr()
    _assert_error_and_hint(status, captured)
    assert missing in captured.err and "pip install 'semcoder-duck[train]'" in captured.err
