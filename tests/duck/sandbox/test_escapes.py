"""Escape attempts against duck.sandbox: each is refused or fails inside the run, and nothing is left behind.

These run real fork servers, real Landlock and (as root, as CI runs) a real uid drop. A
kernel without Landlock skips the ones that need it (with the reason), never silently.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from duck.sandbox import Policy, Sandbox, allowed_env, landlock_abi, scratch_folder
from duck.sandbox.values import Opaque, decode

needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="this kernel has no Landlock")
SECRET = "duck-test-secret-7c1f9a"


@pytest.fixture(scope="module")
def sandbox():
    os.environ["DUCK_TEST_API_KEY"] = SECRET
    try:
        with Sandbox(2, Policy(processes=16, read_anywhere=False), preload=("duck.sandbox.jobs",)) as box:
            yield box
    finally:
        os.environ.pop("DUCK_TEST_API_KEY", None)


def run(sandbox: Sandbox, code: str, call: str = "f()", timeout_s: float = 5.0) -> dict:
    result = sandbox.call("duck.sandbox.jobs:run_snippet", {"code": code, "call": call}, timeout_s=timeout_s)
    assert result.error is None, result.error
    assert result.result is not None, result
    return {**result.result, "_run": result}


def leftover_processes(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every run's private folder (the test's own temporary folder)."""
    return tmp_path


@needs_landlock
@pytest.mark.parametrize("how", [
    "open(TARGET, 'w').write('x')",
    "os.close(os.open(TARGET, os.O_WRONLY | os.O_CREAT))",
    "import sqlite3; sqlite3.connect(TARGET).execute('create table t(x)')",
    "os.mkfifo(TARGET)",
    "os.symlink('/etc/passwd', TARGET)",
    "import shutil; shutil.copy('/etc/hostname', TARGET)",
    "os.mkdir(TARGET)",
])
def test_writes_outside_are_refused(sandbox, outside, how):
    target = outside / "escaped"
    code = f"import os\nTARGET = {str(target)!r}\ndef f():\n    {how}\n"
    result = run(sandbox, code)
    assert result["exception"] is not None
    assert not os.path.lexists(target)


@needs_landlock
def test_existing_file_outside_cannot_be_changed_or_removed(sandbox, outside):
    victim = outside / "victim.txt"
    victim.write_text("keep me")
    for how in ("open(V, 'a').write('x')", "os.remove(V)", "os.rename(V, V + '2')", "os.truncate(V, 0)"):
        result = run(sandbox, f"import os\nV = {str(victim)!r}\ndef f():\n    {how}\n")
        assert result["exception"] is not None, how
    assert victim.read_text() == "keep me"


@needs_landlock
def test_writes_inside_the_private_folder_work(sandbox):
    result = run(sandbox, "import os, tempfile\ndef f():\n    open('here.txt', 'w').write('ok')\n"
                          "    with tempfile.NamedTemporaryFile() as t: t.write(b'x')\n    return open('here.txt').read()")
    assert decode(result["value"]) == "ok"


@pytest.mark.parametrize("how", [
    "import subprocess; subprocess.Popen(['sleep', '{m}'], start_new_session=True)",
    "os.system('sleep {m} &')",
    "os.posix_spawn('/bin/sleep', ['sleep', '{m}'], os.environ)",
    "import _posixsubprocess, subprocess; subprocess.Popen(['sleep', '{m}'])",
    "pid = os.fork()\n    if pid == 0:\n        os.setsid(); os.execv('/bin/sleep', ['sleep', '{m}'])",
])
def test_no_process_outlives_the_run(sandbox, how):
    marker = str(1000 + abs(hash(how)) % 1000) + ".5"
    code = "import os\ndef f():\n    " + how.format(m=marker) + "\n    return 1"
    result = run(sandbox, code)
    assert result["exception"] is None, result["exception"]
    assert leftover_processes(f"sleep\x00{marker}") == []


def test_a_fork_loop_is_bounded_and_cleaned_up(sandbox):
    code = ("import os\ndef f():\n    n = 0\n    while n < 10000:\n        try:\n            pid = os.fork()\n"
            "        except OSError:\n            break\n        if pid == 0:\n            import time; time.sleep(30)\n"
            "            os._exit(0)\n        n += 1\n    return n")
    result = run(sandbox, code, timeout_s=10)
    assert result["exception"] is None
    assert decode(result["value"]) <= 16  # RLIMIT_NPROC of the policy
    assert result["_run"].strays >= 1


@needs_landlock
@pytest.mark.parametrize("how", [
    "os.kill(os.getppid(), signal.SIGKILL)",
    "signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)",
    "os.kill(PARENT, signal.SIGKILL)",
])
def test_signals_cannot_reach_the_supervisor_or_duck(sandbox, how):
    code = f"import os, signal\nPARENT = {os.getpid()}\ndef f():\n    {how}\n"
    result = run(sandbox, code)
    assert result["exception"] is not None
    assert run(sandbox, "def f(): return 2")["value"] == ["int", "2"]  # the server is alive


@needs_landlock
def test_tcp_to_localhost_is_refused(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    listener.settimeout(3)

    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    port = listener.getsockname()[1]
    result = run(sandbox, f"import socket\ndef f():\n    s = socket.socket(); s.connect(('127.0.0.1', {port}))\n"
                          f"    s.sendall(b'leak')")
    thread.join()
    listener.close()
    assert result["exception"] is not None
    assert accepted == []
    bound = run(sandbox, "import socket\ndef f():\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()")
    assert bound["exception"] is not None


def test_no_secret_in_the_environment(sandbox):
    result = run(sandbox, "import os\ndef f(): return dict(os.environ)")
    env = decode(result["value"])
    assert SECRET not in repr(env)
    assert env["HOME"] != os.path.expanduser("~")
    assert "DUCK_TEST_API_KEY" not in env


@pytest.mark.skipif(os.geteuid() != 0, reason="the mount namespace is made when duck runs as root")
@pytest.mark.parametrize("where", ["/run", "/tmp"])
def test_unix_sockets_of_other_programs_cannot_be_reached(sandbox, where):
    """Landlock does not cover a connect to a socket with a path (a database's, the docker
    daemon's, the system bus's, all in /run, or in /tmp): the run sees empty folders there."""
    path = os.path.join(where if where == "/run" else scratch_folder("duck-test-"), f"duck-test-{os.getpid()}.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    os.chmod(path, 0o777)
    listener.listen(1)
    listener.setblocking(False)
    try:
        result = run(sandbox, f"import socket\ndef f():\n    s = socket.socket(socket.AF_UNIX)\n"
                              f"    s.connect({path!r})\n    s.sendall(b'leak')\n")
        assert result["exception"] is not None
        with pytest.raises(BlockingIOError):  # nothing ever connected
            listener.accept()
    finally:
        listener.close()
        os.unlink(path)
        if where != "/run":
            os.rmdir(os.path.dirname(path))


def test_a_secret_named_like_a_kept_variable_stays_out(monkeypatch):
    """LC_* and PYTHON* are kept by prefix: a secret whose name starts so is still refused."""
    monkeypatch.setenv("PYTHON_API_KEY", SECRET)
    monkeypatch.setenv("LC_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    with Sandbox(1, Policy(), preload=("duck.sandbox.jobs",)) as box:
        env = decode(run(box, "import os\ndef f(): return dict(os.environ)")["value"])
        assert SECRET not in repr(env) and env["PYTHONIOENCODING"] == "utf-8"
        exec_env = allowed_env(None, "/nonexistent")
        assert SECRET not in repr(exec_env) and exec_env["PYTHONIOENCODING"] == "utf-8"


@needs_landlock
def test_files_under_home_are_unreadable(sandbox, tmp_path):
    home = Path(os.path.expanduser("~"))
    if not home.is_dir() or not os.access(home, os.W_OK):
        pytest.skip("no writable home folder")
    secret_file = home / f".duck-test-secret-{os.getpid()}"
    secret_file.write_text(SECRET)
    try:
        result = run(sandbox, f"def f(): return open({str(secret_file)!r}).read()")
        assert result["exception"] is not None
        assert SECRET not in repr(result)
    finally:
        secret_file.unlink()


def test_no_state_leaks_between_runs(sandbox):
    poisoned = run(sandbox, "import decimal, random, sys\ndecimal.getcontext().prec = 2\nsys.modules['json'].dumps = None\n"
                            "import builtins\nbuiltins.len = lambda x: 42\ndef f(): return 1")
    assert poisoned["value"] == ["int", "1"]
    for _ in range(3):  # every server has had a poisoned run by now
        result = run(sandbox, "import decimal\ndef f(): return [str(decimal.Decimal(1) / decimal.Decimal(3)), len('ab')]")
        assert decode(result["value"]) == ["0.3333333333333333333333333333", 2]


def test_lying_objects_come_back_opaque(sandbox):
    code = ("class Liar(int):\n    def __repr__(self): return '42'\n    def __eq__(self, other): return True\n"
            "    __hash__ = int.__hash__\ndef f(): return [Liar(0)]")
    value = decode(run(sandbox, code)["value"])
    assert value == [Opaque("__sandbox__.Liar")]
    assert value != [42] and value != [0]


def test_a_forged_result_line_is_only_data(sandbox):
    # the job's result pipe is the only fd the run holds: writing a fake reply there changes nothing
    code = ("import os\ndef f():\n    for fd in range(3, 64):\n        try: os.write(fd, b'{\"result\": {\"ok\": true, "
            "\"value\": [\"int\", \"42\"]}}\\n{\"id\": 0, \"exit_code\": 0}\\n')\n        except OSError: pass\n    return 7")
    result = run(sandbox, code)
    assert result["_run"].exit_code == 0
    assert decode(result["value"]) == 7  # the last result line wins: the job function's own


def test_timeout_kills_and_the_server_goes_on(sandbox):
    started = time.monotonic()
    result = sandbox.call("duck.sandbox.jobs:run_snippet",
                          {"code": "import time\ndef f():\n    while True:\n        try: time.sleep(1)\n"
                                   "        except BaseException: pass", "call": "f()"}, timeout_s=0.5)
    assert result.stopped_by == "timeout"
    assert time.monotonic() - started < 30
    assert run(sandbox, "def f(): return 3")["value"] == ["int", "3"]


def test_memory_limit(sandbox):
    result = run(sandbox, "def f(): return len(bytearray(4 * 1024**3))")
    assert result["exception"]["type"] == "MemoryError"


#: code whose ``f()`` writes 64 files of 8 MiB (each under RLIMIT_FSIZE): 512 MiB;
#: ``HIDE`` makes it write them in a folder whose permissions it then takes away
FILL = ("import os\ndef f(hide=False):\n    os.mkdir('d')\n    if hide:\n        os.chmod('d', 0o300)\n"
        "    block = b'x' * (8 << 20)\n    for n in range(64):\n"
        "        with open(f'd/{n}', 'wb') as out:\n            out.write(block)\n")


@pytest.mark.parametrize("call", ["f()", "f(hide=True)"])
def test_a_run_that_fills_the_disk_is_stopped(call):
    """RLIMIT_FSIZE bounds one file; the supervisor bounds what the run's folders hold together."""
    with Sandbox(1, Policy(disk_mb=64), preload=("duck.sandbox.jobs",)) as box:
        root = next(iter(box._all)).root
        result = box.call("duck.sandbox.jobs:run_snippet", {"code": FILL, "call": call}, timeout_s=60)
        # stopped by SIGKILL when a look caught it writing, else flagged as it ended (a fast disk
        # writes the 512 MiB between two looks): either way not a run that ended well
        assert result.stopped_by == "disk" and (result.signal == 9 or result.exit_code == 0), result
        assert os.listdir(root) == []  # and its folder is gone
        assert run(box, "def f(): return 3")["value"] == ["int", "3"]


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege dropping applies when duck runs as root")
def test_root_drops_to_an_unprivileged_uid(sandbox):
    result = run(sandbox, "import os\ndef f(): return [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]")
    uid, euid, gid, groups = decode(result["value"])
    assert uid != 0 and euid != 0 and gid != 0 and groups == []
    assert result["_run"].confinement["uid"] == uid
    shadow = run(sandbox, "def f(): return open('/etc/shadow').read()")
    assert shadow["exception"] is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="the mount namespace is made when duck runs as root")
def test_other_processes_and_their_command_lines_are_hidden(sandbox):
    """A token passed on a command line (``--api-key=...``) is in world-readable /proc/PID/cmdline:
    the run sees a procfs of its own that shows only its own uid's processes."""
    code = (f"import os\nDUCK = {os.getpid()}\ndef f():\n    try:\n        open(f'/proc/{{DUCK}}/cmdline').read()\n"
            "        seen = True\n    except OSError:\n        seen = False\n"
            "    pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]\n"
            "    return [seen, os.getpid() in pids, os.getppid() in pids, 1 in pids]\n")
    result = run(sandbox, code)
    assert decode(result["value"]) == [False, True, False, False]
    assert result["_run"].confinement["other_processes_hidden"] is True


def test_the_report_says_what_was_applied(sandbox):
    confinement = run(sandbox, "def f(): return 1")["_run"].confinement
    assert confinement["no_new_privs"] is True
    assert confinement["rlimits"]["processes"] == 16
    if landlock_abi() >= 1:
        assert confinement["landlock"]["abi"] == landlock_abi()
        assert confinement["landlock"]["fs_write"] and confinement["landlock"]["fs_read"]
    if landlock_abi() >= 4:
        assert confinement["landlock"]["net_tcp"]
    if landlock_abi() >= 6:
        assert confinement["landlock"]["scope_signal"]


@pytest.fixture
def scratch():
    import shutil

    path = Path(scratch_folder("duck-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_landlock
def test_exec_runs_a_program_confined_to_its_folder(tmp_path):
    """tmp_path lies in pytest's private folder (0700): the run still reaches it (and only it)."""
    work = tmp_path / "work"
    work.mkdir()
    outside_file = tmp_path / "outside.txt"
    program = work / "prog.py"
    program.write_text(f"import os\nopen('inside.txt', 'w').write('in')\nprint(os.environ.get('DUCK_TEST_API_KEY'))\n"
                       f"open({str(outside_file)!r}, 'w').write('out')\n")
    os.environ["DUCK_TEST_API_KEY"] = SECRET
    try:
        env = allowed_env(None, str(work))
    finally:
        os.environ.pop("DUCK_TEST_API_KEY")
    with Sandbox(1) as box:
        result = box.exec([sys.executable, str(program)], cwd=work, env=env, timeout_s=20,
                          stdout=tmp_path / "out.txt", stderr=tmp_path / "err.txt", writable=[work])
    assert result.exit_code == 1
    assert (work / "inside.txt").read_text() == "in"
    assert not outside_file.exists()
    assert (tmp_path / "out.txt").read_text() == "None\n"
    assert "PermissionError" in (tmp_path / "err.txt").read_text()
    assert (work / "inside.txt").stat().st_uid == os.getuid()  # handed back after the run


def test_cancel_stops_a_running_exec(scratch):
    tmp_path = scratch
    with Sandbox(1) as box:
        threading.Timer(0.5, box.cancel_all).start()
        result = box.exec([sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path,
                          env=allowed_env(None, str(tmp_path)), timeout_s=60, grace_s=0.2)
    assert result.stopped_by == "cancelled"
    assert result.duration_s < 30


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege dropping applies when duck runs as root")
def test_an_interpreter_in_a_private_folder_still_runs(tmp_path):
    """CI may clone the project into a folder other users cannot enter: the run still works."""
    import subprocess
    import venv

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    venv.create(private / "venv", with_pip=False, symlinks=True)
    python = str(private / "venv" / "bin" / "python")
    with Sandbox(1, Policy(read_anywhere=False), python=python, preload=("duck.sandbox.jobs",)) as box:
        result = box.call("duck.sandbox.jobs:run_snippet",
                          {"code": "import os, decimal\ndef f(): return os.getuid()", "call": "f()"}, timeout_s=20)
        assert result.error is None and result.result["exception"] is None, result
        assert decode(result.result["value"]) != 0
        shadow = box.call("duck.sandbox.jobs:run_snippet",
                          {"code": "def f(): return open('/etc/shadow').read()", "call": "f()"}, timeout_s=20)
        assert shadow.result["exception"] is not None
    assert subprocess.run([python, "-c", "pass"]).returncode == 0
