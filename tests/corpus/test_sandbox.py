"""The sandbox pool: values, checks, containment of hostile code, replacement of dead workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corpus.sandbox import SandboxJob, SandboxLimits, SandboxPool


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(workers=2, limits=SandboxLimits(memory_mb=512)) as pool:
        yield pool


def test_value_stdout_and_literal(pool):
    result = pool.run("def f(x):\n    print('hi', x)\n    return [x, x + 1]", call="f(1)")
    assert result.ok and result.value_repr == "[1, 2]" and result.literal
    assert result.stdout == "hi 1\n"
    assert not pool.run("class P: pass\ndef f(): return P()", call="f()").literal


def test_check_reports_pass_and_fail(pool):
    assert pool.run("def f(x): return x + 1", check="assert f(1) == 2").passed is True
    failed = pool.run("def f(x): return x + 1", check="assert f(1) == 3")
    assert failed.passed is False and failed.exception_type == "AssertionError"
    broken = pool.run("def f(x): return x +", check="assert f(1) == 2")
    assert broken.passed is False and broken.exception_type == "SyntaxError"


@pytest.mark.parametrize("code, event", [
    ("import os\nos.system('echo pwned')", "os.system"),
    ("import os\nos.fork()", "os.fork"),
    ("import subprocess\nsubprocess.run(['true'])", "subprocess.Popen"),
    ("import socket\nsocket.socket()", "socket.__new__"),
    ("import shutil\nshutil.rmtree('/tmp/duck-not-there')", "shutil.rmtree"),
    ("import os\nos.remove('/tmp/duck-not-there')", "os.remove"),
    ("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)", "os.kill"),
])
def test_destructive_calls_are_refused_and_counted(pool, code, event):
    result = pool.run(code)
    assert not result.ok and result.exception_type == "PermissionError"
    assert event in result.blocked


def test_writes_outside_the_sandbox_are_refused_inside_allowed(pool, tmp_path):
    target = tmp_path / "pwned.txt"
    result = pool.run(f"open({str(target)!r}, 'w').write('x')")
    assert "open" in result.blocked and not target.exists()
    inside = pool.run("open('scratch.txt', 'w').write('x')\nimport os\nos.remove('scratch.txt')")
    assert inside.ok, inside.exception


def test_infinite_loop_times_out_and_the_pool_goes_on(pool):
    result = pool.run("while True:\n    pass", timeout_s=0.3)
    assert result.timed_out and not result.ok
    assert pool.run("x = 1").ok


def test_worker_that_ignores_its_timer_is_killed_and_replaced(pool):
    before = pool.replaced
    code = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    result = pool.run(code, timeout_s=0.2)
    assert result.timed_out and result.crashed
    assert pool.replaced == before + 1
    assert pool.run("def f(): return 3", call="f()").value_repr == "3"


def test_crashing_worker_is_replaced(pool):
    before = pool.replaced
    result = pool.run("import faulthandler\nfaulthandler._sigsegv()")
    assert result.crashed and not result.timed_out
    assert pool.replaced == before + 1
    assert pool.run("x = 1").ok


def test_huge_allocation_is_contained(pool):
    result = pool.run("x = bytearray(8 * 1024 ** 3)")
    assert not result.ok and (result.exception_type == "MemoryError" or result.crashed)
    assert pool.run("x = 1").ok


def test_map_keeps_order_across_workers(pool):
    results = pool.map([SandboxJob("def f(x): return x * 2", call=f"f({i})") for i in range(40)])
    assert [r.value_repr for r in results] == [str(2 * i) for i in range(40)]


def test_hash_seed_is_fixed_per_pool():
    code = "def f(): return list({'a', 'b', 'c', 'd', 'e', 'f'})"
    with SandboxPool(workers=1, hash_seed=1) as one, SandboxPool(workers=1, hash_seed=2) as two:
        first = {one.run(code, call="f()").value_repr for _ in range(2)}
        assert len(first) == 1
        seen = {two.run(code, call="f()").value_repr} | first
    assert len(seen) == 2


def test_working_directory_is_private_and_cleaned(pool):
    result = pool.run("import os\ndef f(): return os.getcwd()", call="f()")
    cwd = result.value_repr.strip("'")
    assert "duck-sandbox-" in cwd and not Path(cwd).exists()
    assert os.getcwd() != cwd
