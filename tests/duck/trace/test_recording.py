"""What a recording holds: golden events for small programs, mutation, output attribution, stdin replay."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from duck.trace.recorder import record_call

from .conftest import PROGRAMS

GOLDEN = Path(__file__).resolve().parent / "golden"
MINOR = f"py{sys.version_info.major}{sys.version_info.minor}"


def _normalised(trace) -> list[str]:
    """Events as JSON lines with the programs' folder replaced by ``<programs>``."""
    folder = str(PROGRAMS)
    return [json.dumps(e, sort_keys=True).replace(folder, "<programs>") for e in trace.events]


@pytest.mark.parametrize("program, argv, stdin", [
    ("average.py", ["2", "4"], None),
    ("mutate.py", [], None),
    ("crash.py", [], None),
    ("gen.py", [], None),
    ("greet.py", [], "ann\n7\n"),
])
def test_golden_events(run_program, program, argv, stdin):
    """Events equal the golden file for this Python minor version (DUCK_REGEN_GOLDEN=1 rewrites it)."""
    outcome, trace = run_program(program, argv=argv, stdin=stdin)
    assert outcome["outcome"] in ("finished", "exception")
    golden = GOLDEN / f"{Path(program).stem}.{MINOR}.jsonl"
    lines = _normalised(trace)
    if os.environ.get("DUCK_REGEN_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not golden.exists():
        pytest.skip(f"no golden events for {MINOR} (set DUCK_REGEN_GOLDEN=1 to write them)")
    assert lines == golden.read_text(encoding="utf-8").splitlines()


def test_header_sources_and_outcome(run_program):
    outcome, trace = run_program("average.py", argv=["1", "2"])
    head = trace.header
    assert head["tracer"] == ("monitoring" if sys.version_info >= (3, 12) else "settrace")
    assert head["argv"] == [str(PROGRAMS / "average.py"), "1", "2"]
    assert head["include"] == [str(PROGRAMS)]
    assert trace.sources == {str(PROGRAMS / "average.py"): (PROGRAMS / "average.py").read_text()}
    assert outcome == trace.outcome and outcome["steps"] == len(trace.events)


def test_in_place_mutation_is_a_change(run_program):
    _, trace = run_program("mutate.py")
    xs_changes = [e["changes"]["xs"] for e in trace.events if e["func"] == "build" and "xs" in e.get("changes", {})]
    assert xs_changes == ["[]", "[0]", "[0, 1]", "[0, 1, 4]"]
    deleted = [e for e in trace.events if "d" in e.get("deleted", [])]
    assert len(deleted) == 1
    assert any(e.get("changes", {}).get("p") == "Point(x=1, y=2)" for e in trace.events)


def test_output_is_attributed_to_the_step_that_wrote_it():
    code = "def f():\n    print('a')\n    x = 1\n    print('b', end='')\n    return x\n"
    rec = record_call(code, "f()")
    by_line = {e["line"]: e.get("stdout") for e in rec.events if e["event"] == "line"}
    assert by_line == {2: "a\n", 3: None, 4: "b", 5: None}
    assert rec.stdout == "a\nb" and rec.value == "1"


def test_stdin_is_recorded_and_replays(run_program):
    outcome, trace = run_program("greet.py", stdin="ann\n7\n")
    assert outcome["stdin"] == "ann\n7\n"
    assert [e["stdin"] for e in trace.events if "stdin" in e] == ["ann\n", "7\n"]
    replay_outcome, replay = run_program("greet.py", stdin=outcome["stdin"])
    assert [e.get("stdout") for e in replay.events] == [e.get("stdout") for e in trace.events]


def test_include_and_exclude_decide_what_is_recorded(run_program, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "helper.py").write_text("def double(x):\n    return 2 * x\n")
    main = tmp_path / "app" / "main.py"
    main.parent.mkdir()
    main.write_text("import sys\nsys.path.insert(0, %r)\nimport helper\ny = helper.double(3)\n" % str(lib))
    _, alone = run_program(main)
    assert {e["func"] for e in alone.events} == {"<module>"}
    _, both = run_program(main, include=[str(lib)])
    assert {e["func"] for e in both.events} == {"<module>", "double"}
    assert set(both.sources) == {str(main), str(lib / "helper.py")}
    _, excluded = run_program(main, include=[str(lib)], exclude=[str(lib / "helper.py")])
    assert {e["func"] for e in excluded.events} == {"<module>"}


def test_seed_makes_random_repeatable(run_program, tmp_path):
    script = tmp_path / "rnd.py"
    script.write_text("import random\nx = random.random()\nh = hash('duck')\n")
    values = []
    for _ in range(2):
        _, trace = run_program(script, seed=7)
        values.append([e.get("changes") for e in trace.events])
    assert values[0] == values[1]


def test_module_mode_runs_like_python_dash_m(run_program, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text("import sys\nwho = sys.argv[1:]\nprint('module', who)\n")
    outcome, trace = run_program(tmp_path / "unused.py", module="pkg", cwd=tmp_path, argv=["x"],
                                 include=[str(tmp_path)])
    assert outcome["outcome"] == "finished", outcome
    assert "".join(e.get("stdout", "") for e in trace.events) == "module ['x']\n"


def test_other_interpreters_record_the_same_events(tmp_path, run_program):
    """The child runs under python3.12/3.13 when they exist (the recorder is stdlib only)."""
    from .pythons import other_pythons

    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other Python interpreter found")
    _, here = run_program("gen.py")
    for python in pythons:
        outcome, there = run_program("gen.py", python=python)
        assert outcome["outcome"] == "finished", outcome
        assert there.header["python"] != here.header["python"]
        assert _normalised(there) == _normalised(here)
