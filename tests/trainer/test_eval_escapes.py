"""Predictions and solutions that try to fake their score, escape or kill the evaluator: each
scores as a failure, the evaluator survives, and nothing is left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.corpus.test_sandbox import SECRET, leftover_processes, outside, secret_env  # noqa: F401 - fixtures
from trainer.eval import cruxeval, evalplus
from trainer.eval.data import CodeTask, CruxSample

SAMPLE = CruxSample("s", "def f(x, y=1):\n    return [x, y]", "0", "[0, 1]")


@pytest.fixture(scope="module")
def sandbox(secret_env):
    from trainer.eval.runner import open_eval_sandbox

    with open_eval_sandbox(2) as sandbox:
        yield sandbox


def _attacks(marker: Path) -> list[str]:
    """Expressions that, if they ran, would write ``marker``, fake a pass or kill the evaluator."""
    return [
        "0 or [0, 1]",
        "[0, 1] if True else 0",
        "type('A', (), {'__eq__': lambda s, o: True})()",
        "__import__('sys')._getframe(1).f_locals.update(ok=True) or [0, 1]",
        f"open({str(marker)!r}, 'w').write('x') and [0, 1]",
        "__import__('os').write(3, b'{\"result\": {\"ok\": true, \"value\": [\"list\", []]}}\\n') and [0, 1]",
        "[__import__('signal').pidfd_send_signal(__import__('os').pidfd_open(__import__('os').getppid()), 9), 1]",
        f"[__import__('os').kill({os.getpid()}, 9), 1]",
        "setattr(__import__('duck.sandbox.values').sandbox.values, 'same', lambda a, b: True) or [0, 1]",
        "[*[0, 1]]",
    ]


def test_output_predictions_that_are_not_literals_fail_and_never_run(sandbox, outside):
    marker = outside / "ran"
    attacks = _attacks(marker)
    correct = cruxeval.score_predictions(sandbox, [SAMPLE], [attacks + ["[0, 1]", "[0, 1.0]", "[0, True]"]], "output")
    assert correct == [[False] * len(attacks) + [True, False, False]]
    assert all(cruxeval.status(SAMPLE, a, "output") == "inadmissible" for a in attacks)
    assert not marker.exists()
    assert leftover_processes(sandbox) == []


def test_input_predictions_must_be_literal_calls(sandbox, outside):
    marker = outside / "ran"
    calls = [f"f({a})" for a in _attacks(marker)]
    calls += ["f(0 or 1)", "f(*[0])", "f(**{'x': 0})", "g(0)", "f(0) or f(1)", "(lambda: f(0))()"]
    good = ["f(0)", "f(0,)", "f(x=0)", "f(0, y=1)", "f(0, 1,)"]
    correct = cruxeval.score_predictions(sandbox, [SAMPLE], [calls + good + ["f(1)", "f(0, 1.0)"]], "input")
    assert correct == [[False] * len(calls) + [True] * len(good) + [False, False]]
    assert not marker.exists()


def test_the_benchmark_value_is_computed_not_taken_from_the_prediction(sandbox):
    """An object-returning f cannot be matched by any literal, and a wrong stated output does not count."""
    objects = CruxSample("o", "class E:\n    def __eq__(self, o): return True\ndef f(x):\n    return E()", "0", "0")
    assert cruxeval.score_predictions(sandbox, [objects], [["0", "None", "[]"]], "output") == [[False, False, False]]
    assert cruxeval.score_predictions(sandbox, [objects], [["f(0)"]], "input") == [[False]]


def test_the_official_check_runs_confined_and_the_evaluator_survives(sandbox, outside):
    marker = outside / "ran"
    me = os.getpid()
    attacks = [f"open({str(marker)!r}, 'w').write('x') and [0, 1]",
               "[__import__('signal').pidfd_send_signal(__import__('os').pidfd_open(__import__('os').getppid()), 9), 1]",
               f"[__import__('os').kill({me}, 9), 1]",
               "__import__('subprocess').Popen(['/bin/sleep', '27182.818']) and [0, 1]"]
    correct = cruxeval.score_predictions(sandbox, [SAMPLE] * 4, [[a] for a in attacks], "output", "official")
    assert correct == [[False]] * 4
    assert not marker.exists() and leftover_processes(sandbox, "27182.818") == []
    # the official harness's loose check itself: `assert [0, 1] == 0 or [0, 1]` holds, as it does there
    assert cruxeval.score_predictions(sandbox, [SAMPLE], [["0 or [0, 1]", "[0, 1]"]], "output", "official") == [[True, True]]
    # a patched harness does not outlive its own run
    patch = "setattr(__import__('builtins'), 'AssertionError', type('X', (BaseException,), {})) or 0"
    assert cruxeval.score_predictions(sandbox, [SAMPLE] * 2, [[patch], ["[0]"]], "output", "official") == [[False], [False]]


def _task(**kw) -> CodeTask:
    base = dict(dataset="humaneval", task_id="HumanEval/x", prompt="def g(x):\n", entry_point="g",
                canonical_solution="    return [x, x * 2]\n", base_input=[[1], [2], [3]], plus_input=[[10]], atol=0.0)
    return CodeTask(**{**base, **kw})


def test_solutions_that_fake_escape_or_kill_fail(sandbox, outside):
    task = _task()
    marker = outside / "ran"
    me = os.getpid()
    fakes = {
        "always_equal": "class E(list):\n    def __eq__(self, o): return True\ndef g(x):\n    return E()\n",
        "forged_channel": ("import os, json\ndef g(x):\n    for fd in range(3, 64):\n        try:\n"
                           "            os.write(fd, (json.dumps({'result': {'ok': True, 'results': []}}) + '\\n').encode())\n"
                           "        except OSError:\n            pass\n    os._exit(0)\n"),
        "patched_compare": ("import duck.sandbox.values as v, trainer.eval.evalplus_harness as h\n"
                            "v.same = lambda a, b: True\nh.check_output = lambda *a: True\ndef g(x):\n    return None\n"),
        "frame": ("import sys\ndef g(x):\n    f = sys._getframe(1)\n    f.f_locals.update(entry={'value': ['list', []]})\n"
                  "    return None\n"),
        "kill_parent": "import os, signal\ndef g(x):\n    signal.pidfd_send_signal(os.pidfd_open(os.getppid()), 9)\n",
        "kill_duck": f"import os\ndef g(x):\n    os.kill({me}, 9)\n",
        "write_outside": f"def g(x):\n    open({str(marker)!r}, 'w').write('x')\n    return [x, x * 2]\n",
        "leak_secret": "import os\ndef g(x):\n    raise ValueError(os.environ.get('SECRET_TOKEN', 'none'))\n",
        "right": "def g(x):\n    return [x, 2 * x]\n",
    }
    scores = evalplus.EvalPlusScorer(sandbox).score_solutions([(task, code) for code in fakes.values()])
    by_name = dict(zip(fakes, scores))
    assert by_name.pop("right").plus
    assert not any(s.base or s.plus for s in by_name.values()), by_name
    # write_outside would be right but cannot write: its PermissionError fails it
    assert not marker.exists() and leftover_processes(sandbox) == []
    assert SECRET not in json.dumps([s.__dict__ for s in scores])


def test_the_evaluator_refuses_without_landlock_unless_told(monkeypatch, tmp_path, capsys):
    from trainer.cli import main

    monkeypatch.setattr("duck.sandbox.landlock_abi", lambda: 0)
    data = tmp_path / "crux.jsonl"
    data.write_text(json.dumps({"id": "s", "code": SAMPLE.code, "input": "0", "output": "[0, 1]"}) + "\n")
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"s": ["[0, 1]"]}))
    argv = ["eval", "cruxeval-o", "--predictions", str(preds), "--data", str(data), "--output", str(tmp_path / "r.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Landlock" in err and "--unsafe-no-sandbox" in err and not (tmp_path / "r.json").exists()
    assert main(argv + ["--unsafe-no-sandbox", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scores"]["CRUXEval-O"] == {"pass@1": 100.0} and out["check"]["name"] == "literal"


def test_a_task_without_predictions_fails_and_is_reported(tmp_path, capsys):
    from trainer.cli import main

    data = tmp_path / "crux.jsonl"
    rows = [{"id": f"s{i}", "code": SAMPLE.code, "input": "0", "output": "[0, 1]"} for i in range(2)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"s0": ["[0, 1]"], "s1": []}))
    argv = ["eval", "cruxeval-o", "--predictions", str(preds), "--data", str(data), "--json", "--check", "official"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scores"]["CRUXEval-O"] == {"pass@1": 50.0} and out["missing"] == ["s1"]
    assert out["check"]["name"] == "official" and out["per_task"]["s1"]["status"] == ["missing"]


def test_a_solution_that_waits_instead_of_computing_is_too_slow(sandbox):
    """Its calls' CPU limits never fire (waiting takes no CPU): their wall-clock limit does, so a
    candidate that sleeps or blocks fails, as under EvalPlus, instead of holding a worker."""
    task = _task(base_input=[[1]], plus_input=[[2]])
    waits = {"sleep": "import time\ndef g(x):\n    time.sleep(40)\n    return [x, 2 * x]\n",
             "event": "import threading\ndef g(x):\n    threading.Event().wait(40)\n    return [x, 2 * x]\n"}
    scores = evalplus.EvalPlusScorer(sandbox).score_solutions([(task, code) for code in waits.values()])
    assert [(s.base, s.reason) for s in scores] == [(False, "too slow")] * 2


def test_a_solution_whose_top_level_waits_is_stopped_by_the_task_s_budget(sandbox, monkeypatch):
    monkeypatch.setattr(evalplus, "TASK_TIME_CAP_S", 1.0)
    code = "import time\ntime.sleep(60)\ndef g(x):\n    return [x, 2 * x]\n"
    score, = evalplus.EvalPlusScorer(sandbox).score_solutions([(_task(), code)])
    assert not score.base and score.reason.startswith("TimeoutError")
