"""Corpus samples in duck.sandbox: values as data, and escape attempts, each refused or scored
as a failure with nothing left behind (no file outside, no process, no secret in any output)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from corpus.jobs import SampleJob, SampleRunner

SECRET = "duck-test-secret-0f3a9c"


def leftover_processes(runner_or_sandbox, marker: str | None = None) -> list[int]:
    """Processes (other than the fork servers) of the sandbox's run uids, or whose command line
    holds ``marker``: what a run left behind. A /proc scan, no psutil."""
    sandbox = getattr(runner_or_sandbox, "sandbox", runner_or_sandbox)
    uids = {server.uid for server in sandbox._all}
    servers = {server.proc.pid for server in sandbox._all}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in servers or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                real_uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except (OSError, StopIteration):
            continue
        if (os.geteuid() == 0 and real_uid in uids) or (marker and marker in cmdline):
            found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def secret_env():
    """A fake secret in duck's own environment before any sandbox starts."""
    saved = os.environ.get("SECRET_TOKEN")
    os.environ["SECRET_TOKEN"] = SECRET
    yield SECRET
    if saved is None:
        os.environ.pop("SECRET_TOKEN", None)
    else:
        os.environ["SECRET_TOKEN"] = saved


@pytest.fixture(scope="module")
def runner(secret_env):
    with SampleRunner(2) as runner:
        yield runner


@pytest.fixture(scope="module")
def one_slot(secret_env):
    with SampleRunner(1) as runner:
        yield runner


@pytest.fixture()
def outside():
    """A folder outside every run's own, that anyone may write and read (so only the sandbox
    stops a run), and a HOME-like file in it with a secret."""
    folder = Path(tempfile.mkdtemp(prefix="duck-outside-", dir="/tmp"))
    folder.chmod(0o777)
    (folder / ".netrc").write_text(f"password {SECRET}\n")
    (folder / ".netrc").chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _no_secret(*outcomes) -> None:
    for outcome in outcomes:
        assert SECRET not in json.dumps(outcome.to_dict())


# ----------------------------------------------------------------------------- values
def test_value_comes_back_as_a_tree_and_stdout_is_captured(runner):
    result = runner.run(SampleJob("def f(x):\n    print('hi', x)\n    return [x, x + 1]", call="f(1)"))
    assert result.ok and result.value == ["list", [["int", "1"], ["int", "2"]]] and result.text == "[1, 2]"
    assert result.stdout == "hi 1\n"
    assert runner.run(SampleJob("class P: pass\ndef f(): return P()", call="f()")).text is None


@pytest.mark.parametrize("code", [
    "class L(int):\n    def __repr__(self): return '42'\ndef f(x): return L(0)",
    "class E:\n    def __eq__(self, other): return True\n    def __repr__(self): return '42'\ndef f(x): return E()",
    "class D(dict):\n    def __repr__(self): return '{}'\ndef f(x): return D(a=1)",
    "def f(x): return float('nan')",
])
def test_lying_reprs_and_eq_are_not_literals(runner, code):
    result = runner.run(SampleJob(code, call="f(0)"))
    assert result.ok and not result.literal and result.text is None
    assert not result.same_value(["int", "42"]) and not result.same_value(["dict", []])


def test_a_lying_repr_is_never_exported(runner):
    from corpus.execute import execute_records

    code = "class L(int):\n    def __repr__(self): return '42'\ndef f(x):\n    return L(x)\n"
    stats: dict = {}
    with SampleRunner(1, hash_seed=1) as other:
        kept = execute_records([{"id": "liar", "code": code, "tests": [{"call": "f(0)"}]}], runner, other, stats)
    assert kept == [] and stats["rejected_not_literal"] == 1


def test_every_sample_starts_clean(one_slot):
    """One slot, so the same fork server runs every job: nothing one sets survives into the next."""
    leak = ("import decimal, builtins, math\ndecimal.getcontext().prec = 2\nbuiltins.len = lambda x: 42\n"
            "math.pi = 3\ndef f(): return str(decimal.Decimal(1) / decimal.Decimal(3))")
    assert one_slot.run(SampleJob(leak, call="f()")).text == "'0.33'"
    honest = "import decimal, math\ndef f(xs): return [str(decimal.Decimal(1) / decimal.Decimal(3)), len(xs), math.pi]"
    for _ in range(3):
        assert one_slot.run(SampleJob(honest, call="f([1, 2])")).text == "['0.3333333333333333333333333333', 2, 3.141592653589793]"


def test_hash_seed_is_fixed_per_runner():
    code = "def f(): return ''.join(list({'a', 'b', 'c', 'd', 'e', 'f'}))"
    with SampleRunner(1, hash_seed=1) as one, SampleRunner(1, hash_seed=2) as two:
        first = {one.run(SampleJob(code, call="f()")).text for _ in range(2)}
        assert len(first) == 1
        seen = {two.run(SampleJob(code, call="f()")).text} | first
    assert len(seen) == 2


def test_working_folder_is_private_and_removed(runner):
    result = runner.run(SampleJob("import os\ndef f():\n    open('scratch', 'w').write('x')\n    return os.getcwd()",
                                  call="f()"))
    cwd = result.text.strip("'")
    assert result.ok and "duck-sandbox-" in cwd and not Path(cwd).exists() and os.getcwd() != cwd


def test_map_keeps_order_across_slots(runner):
    results = runner.map([SampleJob("def f(x): return x * 2", call=f"f({i})") for i in range(20)])
    assert [r.text for r in results] == [str(2 * i) for i in range(20)]


def test_traced_run_returns_events_and_the_value_tree(runner):
    result = runner.run(SampleJob("def f(x):\n    y = x * 2\n    return y\n", call="f(4)", trace=True))
    assert result.ok and result.text == "8" and result.events
    assert any(e["event"] == "return" for e in result.events)


# ----------------------------------------------------------------------------- escapes
WRITES = {
    "open": "open({target!r}, 'w').write('x')",
    "os.open": "import os\nos.close(os.open({target!r}, os.O_WRONLY | os.O_CREAT, 0o644))",
    "sqlite3": "import sqlite3\nc = sqlite3.connect({target!r})\nc.execute('create table t (x)')\nc.commit()",
    "mkfifo": "import os\nos.mkfifo({target!r})",
    "symlink": "import os\nos.symlink({target!r}, 'link')\nopen('link', 'w').write('x')",
    "shutil": "import shutil\nopen('mine', 'w').write('x')\nshutil.copy('mine', {target!r})",
    "rename": "import os\nopen('mine', 'w').write('x')\nos.rename('mine', {target!r})",
    "subprocess": "import subprocess\nsubprocess.run(['/bin/sh', '-c', 'echo x > {target}'])",
    "os.system": "import os\nos.system('echo x > {target}')",
    "posix_spawn": "import os\nos.waitpid(os.posix_spawn('/bin/sh', ['sh', '-c', 'echo x > {target}'], {{}}), 0)",
    "fork_exec": ("import _posixsubprocess, os\nr, w = os.pipe()\n"
                  "pid = _posixsubprocess.fork_exec([b'/bin/sh', b'-c', b'echo x > {target}'], [b'/bin/sh'], False, "
                  "(), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, False)\n"
                  "os.waitpid(pid, 0)"),
}


@pytest.mark.parametrize("how", sorted(WRITES))
def test_writes_outside_are_refused(runner, outside, how):
    target = outside / "pwned"
    code = WRITES[how].format(target=str(target)) + "\ndef f(): return 1"
    result = runner.run(SampleJob(code, call="f()", timeout_s=10))
    assert not target.exists() and not target.is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == [".netrc"]
    assert leftover_processes(runner) == []
    if how in ("open", "os.open", "mkfifo", "rename", "shutil", "sqlite3"):
        # as root the shared temporary folder (where ``outside`` lies) is not even there for the run
        assert not result.ok and result.exception_type in ("PermissionError", "FileNotFoundError",
                                                           "sqlite3.OperationalError")


@pytest.mark.parametrize("how", ["subprocess", "setsid", "fork", "double_fork"])
def test_no_process_outlives_its_run(runner, how):
    marker = f"3141{len(how)}.926"  # a valid and distinctive sleep time, to find it in /proc
    start = {
        "subprocess": f"import subprocess\nsubprocess.Popen(['/bin/sleep', '{marker}'])",
        "setsid": f"import subprocess\nsubprocess.Popen(['/bin/sleep', '{marker}'], start_new_session=True)",
        "fork": f"import os\nif os.fork() == 0:\n    os.execv('/bin/sleep', ['sleep', '{marker}'])",
        "double_fork": (f"import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)"),
    }[how]
    result = runner.run(SampleJob(start + "\ndef f(): return 1", call="f()", timeout_s=10))
    assert result.ok and result.strays >= 1
    assert leftover_processes(runner, marker) == []


def test_a_fork_loop_is_bounded_and_cleaned_up(runner):
    code = "import os\ndef f():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass"
    result = runner.run(SampleJob(code, call="f()", timeout_s=2))
    assert not result.ok
    assert leftover_processes(runner) == []
    assert runner.run(SampleJob("def f(): return 1", call="f()")).text == "1"


@pytest.mark.parametrize("how", ["kill_parent", "kill_duck", "pidfd_duck", "killpg_duck", "kill_all"])
def test_signals_cannot_reach_duck(runner, how):
    me = os.getpid()
    code = {
        "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
        "kill_duck": f"import os, signal\nos.kill({me}, signal.SIGKILL)",
        "pidfd_duck": f"import os, signal\nsignal.pidfd_send_signal(os.pidfd_open({me}), signal.SIGKILL)",
        "killpg_duck": f"import os, signal\nos.killpg(os.getpgid({me}), signal.SIGKILL)",
        "kill_all": "import os, signal\nos.kill(-1, signal.SIGKILL)",
    }[how]
    result = runner.run(SampleJob(code + "\ndef f(): return 1", call="f()"))
    # this test process is still alive to check, and the sandbox keeps working
    assert not (how != "kill_all" and result.ok)
    assert runner.run(SampleJob("def f(): return 2", call="f()")).text == "2"


def test_tcp_to_localhost_is_refused(runner):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        code = (f"import socket\ndef f():\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                "    s.sendall(b'hello')\n    return 1")
        result = runner.run(SampleJob(code, call="f()", timeout_s=5))
        assert not result.ok and result.exception_type == "PermissionError"
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    finally:
        listener.close()


def test_secrets_in_env_and_home_stay_out(runner, outside, secret_env):
    code = (f"import os, glob\ndef f():\n    found = [os.environ.get('SECRET_TOKEN', ''), os.environ.get('HOME', '')]\n"
            f"    for path in ['{outside}/.netrc', '/proc/1/environ', '/proc/%d/environ' % os.getppid(),\n"
            f"                 '/proc/{os.getpid()}/environ', os.path.expanduser('~/.netrc')]:\n"
            "        try:\n            found.append(open(path, 'rb').read().decode(errors='replace'))\n"
            "        except OSError as e:\n            found.append(type(e).__name__)\n"
            "    print(found)\n    return found")
    result = runner.run(SampleJob(code, call="f()"))
    traced = runner.run(SampleJob(code, call="f()", trace=True))
    assert result.ok and traced.ok
    values = json.loads(json.dumps(result.value))
    assert values[1][0] == ["str", ""] and "duck-sandbox-" in values[1][1][1]  # no secret, HOME is the run's folder
    # the HOME-like file outside the readable set (as root its shared temporary folder is not even there)
    assert values[1][2] in (["str", "PermissionError"], ["str", "FileNotFoundError"])
    _no_secret(result, traced)


def test_the_corpus_refuses_without_landlock_unless_told(monkeypatch, tmp_path, capsys):
    from trainer.cli import main

    monkeypatch.setattr("duck.sandbox.landlock_abi", lambda: 0)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "m.py").write_text("def inc(x):\n    y = x + 1\n    return y\n")
    out = tmp_path / "out"
    assert main(["corpus", "seeds", "--out", str(out), "--seeds", str(tmp_path / "seeds"), "--quiet"]) == 0
    assert main(["corpus", "extract", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Landlock" in err and "hint:" in err and "--unsafe-no-sandbox" in err
    assert not (out / "extract" / "manifest.json").exists()
    assert main(["corpus", "extract", "--out", str(out), "--quiet", "--unsafe-no-sandbox"]) == 0
    assert (out / "extract" / "manifest.json").exists()


# ----------------------------------------------------------------------------- values helpers used here
def test_literal_calls_are_read_without_running_anything():
    from duck.sandbox.values import literal_call

    assert literal_call("f(1, 'a', key=[2],)", "f") == ("f", [1, "a"], {"key": [2]})
    assert literal_call("f((1, ), (1, ), (1, 2))", "f")[1] == [(1,), (1,), (1, 2)]
    for text in ("f(0 or 1)", "f(*[1])", "f(**{})", "g(1)", "f(1) + 1", "f(print(1))", "f(lambda: 0)", "f("):
        with pytest.raises(ValueError):
            literal_call(text, "f")


def test_large_values_have_a_digest_and_huge_ints_a_tree():
    import hashlib

    from duck.sandbox.values import decode, digest, encode, literal_text

    for value in ([1, 2.5, "a\"é"], {"a": (1, {2, 3}), 3: [None, True, b"x", 1j, -0.0]}, [[]], [10 ** 5000, 1]):
        assert digest(value) == hashlib.sha256(json.dumps(encode(value, _budget=[10 ** 9])).encode()).hexdigest()
    assert digest([1.0, 2.0]) != digest([1, 2]) != digest((1, 2))
    big = 7 ** 9000  # beyond the decimal-digit limit of int()/repr()
    assert decode(encode(big)) == big and literal_text(encode(big)).startswith("0x")
    assert encode(list(range(200_000)))[1][-1] == ["opaque", "<too large>"]


def test_run_calls_returns_outputs_digests_and_stops_at_a_slow_call(runner):
    from duck.sandbox.values import digest, encode

    code = "def g(n):\n    if n < 0:\n        while True:\n            pass\n    return list(range(n))\n"
    payload = {"code": code, "call": "g", "inputs": [[encode(2)], [encode(300_000)], [encode(-1)], [encode(1)]],
               "limits_s": [1.0] * 4, "max_items": 1000, "digest_large": True}
    run = runner.sandbox.call("duck.sandbox.jobs:run_calls", payload, timeout_s=30)
    results = run.result["results"]
    assert results[0]["value"] == encode([0, 1]) and results[1]["digest"] == digest(list(range(300_000)))
    assert results[2].get("too_slow") and len(results) == 3
