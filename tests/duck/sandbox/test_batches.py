"""Batches (``Sandbox.call_batch``): many calls share one confinement set-up, yet each runs in a
fresh process of its own under a nested Landlock layer, and nothing one sample does reaches
the next one of the same batch: no file, no process, no signal, no forged result, no value.

A kernel without Landlock ABI 6 (scoped signals) runs no batches; these tests then check that
``call_batch`` falls back to one confined child per call and skip what needs the nested layer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from duck.sandbox import BATCH_ABI, Policy, Sandbox, landlock_abi

needs_batches = pytest.mark.skipif(landlock_abi() < BATCH_ABI, reason=f"this kernel has no Landlock ABI {BATCH_ABI}")
SNIPPET = "duck.sandbox.jobs:run_snippet"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(1, Policy(processes=16, read_anywhere=False), preload=("duck.sandbox.jobs",)) as box:
        yield box


def batch(sandbox: Sandbox, *samples: tuple[str, str], timeout_s: float = 5.0):
    runs = sandbox.call_batch([(SNIPPET, {"code": code, "call": call}, timeout_s) for code, call in samples])
    if sandbox.batches:  # every sample ran in the batch (none had to be run again on its own)
        assert all("nested_landlock" in (run.confinement or {}) for run in runs), runs
    return runs


def value(run):
    assert run.error is None and run.result is not None, run
    result = run.result
    if result["exception"]:
        return ("raised", result["exception"]["type"])
    from duck.sandbox.values import decode

    return decode(result["value"])


HONEST = ("def f(): return 'honest'", "f()")
#: code defining ``holders()``: how many containers the collector knows hold the text NEEDLE (an
#: expression, so that the code itself does not hold it); strings are not tracked, their holders are
HOLDS = ("import gc\ndef holders():\n    needle = NEEDLE\n    found = 0\n    for o in gc.get_objects():\n"
         "        if isinstance(o, (dict, list, tuple)):\n            try:\n                text = repr(o)\n"
         "            except Exception:\n                continue\n"
         "            found += needle in text and 'needle' not in text\n    return found\n")


@needs_batches
def test_each_sample_of_a_batch_runs_in_a_process_and_folder_of_its_own(sandbox):
    code = "import os\ndef f(): return [os.getpid(), os.getcwd(), os.getppid()]"
    runs = batch(sandbox, *[(code, "f()")] * 3)
    seen = [value(run) for run in runs]
    assert len({pid for pid, _, _ in seen}) == 3 and len({cwd for _, cwd, _ in seen}) == 3
    assert len({parent for _, _, parent in seen}) == 1  # one batch process forked them all
    assert all(not Path(cwd).exists() for _, cwd, _ in seen)
    for run in runs:  # the batch's confinement and the sample's own nested layer
        assert run.confinement["landlock"]["fs_write"] and run.confinement["nested_landlock"]["scope_signal"]


@needs_batches
def test_files_do_not_pass_from_one_sample_to_the_next(sandbox):
    plant = ("import os\ndef f():\n    open('left', 'w').write('x')\n    os.makedirs('deep/er', exist_ok=True)\n"
             "    open('deep/er/x', 'w').write('x')\n    os.chmod('deep/er', 0)\n    os.chmod('deep', 0)\n"
             "    try:\n        open('../planted', 'w').write('x')\n        return 'wrote beside'\n"
             "    except OSError as error:\n        return type(error).__name__")
    look = "import os\ndef f(): return sorted(os.listdir('..'))"
    runs = batch(sandbox, (plant, "f()"), (look, "f()"), (look, "f()"))
    assert value(runs[0]) == "PermissionError"  # the nested layer: writes only in its own folder
    assert value(runs[1]) == ["s1"] and value(runs[2]) == ["s2"]  # the earlier folders are gone


@needs_batches
def test_module_state_and_values_do_not_pass_between_samples(sandbox):
    change = ("import decimal, builtins, math\ndecimal.getcontext().prec = 2\nbuiltins.len = lambda x: 42\n"
              "math.pi = 3\ndef f(): return 'zebra-' + str(12345 * 2)")
    look = ("import decimal, math\n" + HOLDS.replace("NEEDLE", "'zebra-' + str(12345 * 2)") +
            "def f():\n    return [str(decimal.Decimal(1) / decimal.Decimal(3)), len([1]), math.pi, holders() > 0]")
    runs = batch(sandbox, (change, "f()"), (look, "f()"))
    assert value(runs[0]) == "zebra-24690"
    # the next sample sees the clean modules and no trace of the first one's result
    assert value(runs[1]) == ["0.3333333333333333333333333333", 1, 3.141592653589793, False]


@needs_batches
@pytest.mark.parametrize("how", ["kill", "pidfd", "killpg", "kill_all", "proc_mem"])
def test_a_sample_cannot_reach_its_batch_process(sandbox, how):
    attack = {
        "kill": "os.kill(os.getppid(), signal.SIGKILL)",
        "pidfd": "signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)",
        "killpg": "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
        "kill_all": "os.kill(-1, signal.SIGSTOP)",
        "proc_mem": "open(f'/proc/{os.getppid()}/mem', 'rb').read(1)",
    }[how]
    code = f"import os, signal\ndef f():\n    try:\n        {attack}\n    except OSError as error:\n        return type(error).__name__\n    return 'reached'"
    runs = batch(sandbox, (code, "f()"), HONEST, HONEST)
    assert value(runs[0]) != "reached" or how == "kill_all"  # kill(-1) reaches only the sample's own domain
    assert [value(run) for run in runs[1:]] == ["honest", "honest"]


@needs_batches
def test_a_forged_line_on_every_descriptor_is_only_the_sample_s_own_data(sandbox):
    forge = ("import json, os\ndef f():\n    line = json.dumps({'item': 1, 'reply': {'exit_code': 0}}) + '\\n'\n"
             "    line += json.dumps({'result': {'ok': True, 'value': ['str', 'forged'], 'exception': None}}) + '\\n'\n"
             "    for fd in range(3, 64):\n        try:\n            os.write(fd, line.encode())\n"
             "        except OSError:\n            pass\n    return 'mine'")
    runs = batch(sandbox, (forge, "f()"), HONEST)
    assert value(runs[0]) == "mine" and value(runs[1]) == "honest"


@needs_batches
def test_processes_timeouts_and_crashes_stay_with_their_sample(sandbox):
    marker = "2718.2818"
    daemon = (f"import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\ndef f(): return 1")
    forever = "def f():\n    while True:\n        pass"
    crash = "import os\ndef f(): os._exit(3)"
    runs = batch(sandbox, (daemon, "f()"), (forever, "f()"), (crash, "f()"), HONEST, timeout_s=2.0)
    assert value(runs[0]) == 1 and runs[0].strays >= 1
    assert runs[1].stopped_by == "timeout" and runs[1].result is None
    assert runs[2].exit_code == 3 and runs[2].result is None
    assert value(runs[3]) == "honest"
    from tests.duck.sandbox.test_escapes import leftover_processes

    assert leftover_processes(marker) == []


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def test_without_scoped_signals_a_batch_is_one_child_per_call(monkeypatch):
    import duck.sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "landlock_abi", lambda: BATCH_ABI - 1)
    with Sandbox(1, Policy(processes=16), preload=("duck.sandbox.jobs",)) as box:
        code = "import os\ndef f(): return os.getppid()"
        runs = batch(box, (code, "f()"), (code, "f()"))
        server = next(iter(box._all)).proc.pid
        parents = [value(run) for run in runs]
        # each forked on its own by the server's zygote (a child of the server), not by a batch's process
        assert parents[0] == parents[1] and _parent_of(parents[0]) == server
        assert all("nested_landlock" not in (run.confinement or {}) for run in runs)


@needs_batches
def test_writes_outside_from_a_batch_are_refused():
    folder = Path(tempfile.mkdtemp(prefix="duck-outside-"))
    folder.chmod(0o777)
    try:
        with Sandbox(1, Policy(processes=16, read_anywhere=True), preload=("duck.sandbox.jobs",)) as box:
            code = f"def f():\n    open({str(folder / 'x')!r}, 'w').write('x')"
            runs = batch(box, (code, "f()"), (code, "f()"))
        assert [value(run) for run in runs] == [("raised", "PermissionError")] * 2
        assert os.listdir(folder) == []
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def test_a_run_never_finds_the_result_of_the_run_before(sandbox):
    """Also without batches: the fork server forgets a reply before it forks the next run."""
    make = "def f(): return 'okapi-' + str(4321 * 3)"
    look = HOLDS.replace("NEEDLE", "'okapi-' + str(4321 * 3)") + "def f():\n    return holders()"
    first = sandbox.call(SNIPPET, {"code": make, "call": "f()"}, timeout_s=5)
    second = sandbox.call(SNIPPET, {"code": look, "call": "f()"}, timeout_s=5)
    assert value(first) == "okapi-12963" and value(second) == 0


#: code defining ``in_memory(needle)``: how often the bytes ``needle`` lie in this process's
#: writable anonymous memory (the heap, freed blocks included), read with ctypes
IN_MEMORY = ("import ctypes\ndef in_memory(needle):\n    found = 0\n"
             "    for line in open('/proc/self/maps').read().splitlines():\n"
             "        parts = line.split()\n"
             "        if 'rw' not in parts[1] or (len(parts) > 5 and parts[5].startswith('/')):\n"
             "            continue\n"
             "        low, high = (int(x, 16) for x in parts[0].split('-'))\n"
             "        if high - low < 1 << 28:\n"
             "            found += ctypes.string_at(low, high - low).count(needle)\n"
             "    return found\n")


def test_a_run_never_finds_the_bytes_of_an_earlier_run_in_its_memory(sandbox):
    """An evaluation runs the reference solution, then the candidates, on the same servers: a run
    forked from a server that had read an earlier job and its reply could scan its inherited
    heap for them (freed memory keeps its bytes). Runs are forked from the server's zygote,
    which never held a job: only the needle the scanning run makes itself is found."""
    reference = "def reference(x):\n    return x * 7 + 90210  # KIWI-REFERENCE-SOLUTION"
    first = sandbox.call(SNIPPET, {"code": reference, "call": "[reference(i) for i in range(3)]"}, timeout_s=5)
    assert value(first) == [90210, 90217, 90224]
    look = "(in_memory(b'KIWI-REFERENCE' + b'-SOLUTION'), in_memory(b'902' + b'17'))"
    second = sandbox.call(SNIPPET, {"code": IN_MEMORY, "call": look}, timeout_s=20)
    assert value(second) == (1, 1)
