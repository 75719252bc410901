"""The fix search keeps the user's files safe: every run (the buggy program's too) is confined
to its copy, leaves no process behind, and the report says where the program tried to write.

Decided: the baseline (the buggy program as it is) runs confined like every candidate, so a
``duck fix`` without ``--apply`` writes nothing outside duck's scratch folder, not even the
program's own outside writes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from duck.repair.oracle import RunOracle
from duck.repair.verify import CandidateRunner, Workspace
from duck.sandbox import landlock, scratch_folder
from duck.trace.runner import RecordRequest
from tests.duck.repair.test_fix_cli import BUGGY

pytestmark = pytest.mark.skipif(landlock.abi_version() < 4, reason="needs Landlock with TCP rules (Linux 6.7+)")


def duck(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "duck", "fix", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)


def marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries ``DUCK_TEST_MARK=mark`` (only this test's programs set it)."""
    found = []
    needle = f"DUCK_TEST_MARK={mark}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


SIDE_EFFECTS = '''

def side_effects():
    try:
        with open(OUTSIDE, "w") as f:
            f.write("written by a run of the program\\n")
    except PermissionError:
        pass
    env = dict(os.environ, DUCK_TEST_MARK=MARK)
    subprocess.Popen(["sleep", "60"], start_new_session=True, env=env)
    pid = os.fork()
    if pid == 0:  # a double-fork daemon
        os.setsid()
        if os.fork() == 0:
            os.execvpe("sleep", ["sleep", "60"], env)
        os._exit(0)
    os.waitpid(pid, 0)


side_effects()
'''


def escaping_program(outside: Path, mark: str) -> str:
    """The buggy ``largest`` program, first writing outside its folder and starting background processes."""
    return f"import os, subprocess\n\nOUTSIDE = {str(outside)!r}\nMARK = {mark!r}\n" + SIDE_EFFECTS + BUGGY


def test_fix_confines_every_run_leaves_no_process_and_reports_the_refused_write(tmp_path):
    folder, outside = tmp_path / "project", tmp_path / "elsewhere" / "target.txt"
    folder.mkdir()
    outside.parent.mkdir()
    outside.write_text("the user's own data\n")
    before = outside.stat().st_mtime_ns
    mark = uuid.uuid4().hex
    prog = folder / "prog.py"
    prog.write_text(escaping_program(outside, mark))
    done = duck("prog.py", "--expect", "9", "--max-fixes", "1", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["fixes"], report
    assert any(f"if {fixed}:" in report["fixes"][0]["patched_source"]
               for fixed in ("x > best", "not (x < best)", "x >= best"))
    # the baseline ran confined too: the outside file was never written, by any run
    assert outside.read_text() == "the user's own data\n" and outside.stat().st_mtime_ns == before
    assert sorted(p.name for p in outside.parent.iterdir()) == ["target.txt"]
    assert sorted(p.name for p in folder.iterdir()) == ["prog.py"]
    # every run started two background processes; none is left
    assert marked_processes(mark) == []
    assert report["notes"] == [f"note: the program tried to write outside its folder: {outside} "
                               "(refused in the sandbox)"]


ESCAPES = '''import os, socket

try:
    with open("link.txt", "w") as f:
        f.write("through the link")
    print("link: written")
except OSError as exc:
    print("link:", type(exc).__name__)
print("system:", os.system("echo shell > {shell_target}") != 0)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
    print("socket: connected")
except OSError as exc:
    print("socket:", type(exc).__name__)
'''


@pytest.fixture
def escape_runner(tmp_path):
    # a folder other users can search (pytest's own is private, and the sandbox hides private
    # folders altogether): there a write is refused by Landlock, not made impossible by hiding
    outside = Path(scratch_folder("duck-test-outside-"))
    target = outside / "linked.txt"
    target.write_text("keep\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "link.txt").symlink_to(target)  # copied as a link: it still points outside
    prog = folder / "prog.py"
    prog.write_text(ESCAPES.format(shell_target=outside / "shell.txt", port=listener.getsockname()[1]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    workspace = Workspace.create(prog, folder, scratch)
    runner = CandidateRunner(workspace, RecordRequest(script=prog, cwd=folder, stdin=None), RunOracle(), jobs=1)
    yield runner, outside, target, listener
    runner.close()
    listener.close()
    shutil.rmtree(outside, ignore_errors=True)


def _assert_refused(stdout: str, outside: Path, target: Path, listener: socket.socket) -> None:
    assert "link: PermissionError" in stdout
    assert "system: True" in stdout  # the shell could not write there either
    assert "socket: PermissionError" in stdout
    assert target.read_text() == "keep\n"
    assert sorted(p.name for p in outside.iterdir()) == ["linked.txt"]
    with pytest.raises(BlockingIOError):  # nothing ever connected
        listener.accept()


def test_screening_runs_cannot_escape_through_symlinks_shells_or_sockets(escape_runner):
    runner, outside, target, listener = escape_runner
    quick = runner.run_quick(None, 30)
    assert quick.outcome["outcome"] == "finished", quick
    _assert_refused(quick.stdout, outside, target, listener)
    assert list(runner.writes_outside) == [str(target)] and runner.confined


def test_recorded_runs_cannot_escape_through_symlinks_shells_or_sockets(escape_runner):
    runner, outside, target, listener = escape_runner
    recorded = runner.record(None)
    assert recorded.session.outcome["outcome"] == "finished", recorded.session.outcome
    _assert_refused(recorded.session.stdout, outside, target, listener)
    assert recorded.session.outcome["writes_outside"] == [str(target)] and recorded.session.outcome["confined"]
    assert list(runner.writes_outside) == [str(target)]


def test_the_environment_of_a_run_holds_no_secret_and_not_the_users_home(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    prog = tmp_path / "src" / "env.py"
    prog.parent.mkdir()
    prog.write_text("import os\nprint(sorted(k for k in os.environ if os.environ[k].endswith('-secret')),"
                    " os.environ['HOME'] == os.path.expanduser('~'), os.environ['HOME'] != {home!r})\n"
                    .format(home=os.environ.get("HOME", "")))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with CandidateRunner(Workspace.create(prog, prog.parent, scratch),
                         RecordRequest(script=prog, cwd=prog.parent, stdin=None), RunOracle(), jobs=1) as runner:
        assert runner.run_quick(None, 30).stdout == "[] True True\n"
        assert runner.record(None).session.stdout == "[] True True\n"


#: a candidate of ``add`` that is still wrong but prints pytest's summary lines of a pass on every
#: stream it can find (pytest's own, the recorder's), then ends the process before any test runs
FORGED_PASS = '''import gc, os, sys
def add(a, b):
    return a - b
_claim = "PASSED test_prog.py::test_add\\nPASSED test_prog.py::test_other\\n"
for _stream in [o for o in gc.get_objects() if hasattr(type(o), "write") and hasattr(o, "flush")
                and not isinstance(o, type)] + [sys.__stdout__]:
    try:
        _stream.write(_claim)
        _stream.flush()
    except Exception:
        pass
os._exit(0)
'''


def test_a_candidate_that_prints_a_pytest_pass_is_judged_by_its_recording(write, tmp_path):
    """Under ``--test`` the verdict reads pytest's summary, which the program (in pytest's
    process) can print itself: a pass counts only where the recording shows the test returned."""
    from duck.repair.oracle import TestOracle

    prog = write("src/prog.py", "def add(a, b):\n    return a - b\n")
    write("src/test_prog.py", "from prog import add\n\ndef test_add():\n    assert add(1, 2) == 3\n\n"
                              "def test_other():\n    assert add(2, 0) == 2\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    oracle = TestOracle("test_prog.py::test_add")
    request = oracle.prepare(RecordRequest(script=prog, cwd=prog.parent, stdin=None))
    with CandidateRunner(Workspace.create(prog, prog.parent, scratch), request, oracle, jobs=1) as runner:
        runner.baseline = runner.record(None).session
        forged = runner.confirm(FORGED_PASS, request.limits)
        assert "PASSED test_prog.py::test_add" in forged.session.stdout  # the claim was printed...
        assert not forged.verdict.passed, forged.verdict  # ...and not believed
        assert "did not return normally" in forged.verdict.reason
        right = runner.confirm("def add(a, b):\n    return a + b\n", request.limits)
        assert right.verdict.passed, right.verdict
