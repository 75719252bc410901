"""Programs behave under ``duck record`` as under plain ``python prog.py`` (issue 12, items 7 and 8).

Each case runs the same program both ways, in the same environment, and compares the exit
status and what reached stdout and stderr (duck's own one-line summary aside); then it checks
what the trace says about the run. The README's "Reliability" table lists these cases.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import duck
from duck.trace.format import read_trace

ROOT = Path(duck.__file__).resolve().parents[1]  # the duck under test, for the `python -m duck` children


@dataclass
class Ran:
    returncode: int
    stdout: bytes
    stderr: bytes


def _env() -> dict:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=str(ROOT))
    env.pop("PYTHONUNBUFFERED", None)  # Python's own buffering decides when a write to a closed fd fails
    return env


def _python(script: Path, *, timeout: float = 120) -> Ran:
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, env=_env(), cwd=script.parent,
                          timeout=timeout)
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def _duck(script: Path, *args: str, command: str = "record") -> tuple[Ran, object]:
    trace_path = script.parent / "run.trace"
    argv = [sys.executable, "-m", "duck", command, str(script)]
    argv += ["-o", str(trace_path), *args] if command == "record" else ["--plain", "--save", str(trace_path), *args]
    proc = subprocess.run(argv, capture_output=True, env=_env(), cwd=script.parent, timeout=300)
    stderr = b"".join(line for line in proc.stderr.splitlines(keepends=True) if not line.startswith(b"duck: recorded"))
    return Ran(proc.returncode, proc.stdout, stderr), read_trace(trace_path)


def _program(tmp_path: Path, source: str, name: str = "prog.py") -> Path:
    script = tmp_path / name
    script.write_text(source, encoding="utf-8")
    return script


def _shell_status(returncode: int) -> int:
    """What a shell shows for a subprocess return code (a signal n is 128 + n)."""
    return 128 - returncode if returncode < 0 else returncode


def _same_as_python(tmp_path: Path, source: str, *args: str):
    script = _program(tmp_path, source)
    python = _python(script)
    duck, trace = _duck(script, *args)
    assert (duck.stdout, duck.stderr) == (python.stdout, python.stderr)
    assert duck.returncode == _shell_status(python.returncode)
    return python, trace


def _events_are_contiguous(trace) -> bool:
    return [e["step"] for e in trace.events] == list(range(len(trace.events)))


def _recorded_output(trace, stream: str = "stdout") -> str:
    return "".join(e.get(stream, "") for e in trace.events)


# ----------------------------------------------------------------------------------- item 7
def test_sys_exit_of_a_huge_int_is_pythons_255(tmp_path):
    python, trace = _same_as_python(tmp_path, "print('a')\nimport sys\nsys.exit(2 ** 100)\n")
    assert python.returncode == 255
    assert trace.outcome["outcome"] == "exited" and trace.outcome["exit_code"] == 255


def test_an_uncaught_keyboard_interrupt_ends_by_sigint_with_the_traceback(tmp_path):
    source = "def f():\n    raise KeyboardInterrupt\nprint('x')\nf()\n"
    python, trace = _same_as_python(tmp_path, source)
    assert python.returncode == -signal.SIGINT and b"KeyboardInterrupt" in python.stderr
    assert trace.outcome["outcome"] == "exception" and trace.outcome["exit_code"] == -signal.SIGINT
    assert trace.outcome["exception"]["type"] == "KeyboardInterrupt"


def test_printing_after_closing_stdout_is_exit_status_120(tmp_path):
    source = "import os\nprint('before', flush=True)\nos.close(1)\nprint('after')\n"
    python, trace = _same_as_python(tmp_path, source)
    assert python.returncode == 120 and b"Exception ignored" in python.stderr
    assert trace.outcome["outcome"] == "exited" and trace.outcome["exit_code"] == 120


def test_an_error_inside_print_shows_no_frame_of_ducks(tmp_path):
    source = "import sys\nprint('a', flush=True)\nsys.stdout.close()\nprint('b')\n"
    python, trace = _same_as_python(tmp_path, source)
    assert b"ValueError" in python.stderr
    assert trace.outcome["exception"]["type"] == "ValueError"


def test_os_execv_keeps_the_steps_before_it_and_the_exec_programs_status(tmp_path):
    source = ("import os, sys\nx = 41\nx += 1\nprint('before exec', flush=True)\n"
              "os.execv(sys.executable, [sys.executable, '-c', 'print(\"in exec\"); raise SystemExit(3)'])\n")
    python, trace = _same_as_python(tmp_path, source)
    assert python.returncode == 3 and python.stdout == b"before exec\nin exec\n"
    assert trace.outcome["outcome"] == "exited" and trace.outcome["exit_code"] == 3
    assert "os.execv" in trace.outcome["message"]
    assert any(e.get("changes", {}).get("x") == "42" for e in trace.events)
    assert trace.outcome["steps"] == len(trace.events) and _events_are_contiguous(trace)


def test_replacing_builtins_does_not_break_the_recording(tmp_path):
    source = ("import builtins\n"
              "def broken(*args, **kwargs):\n    raise RuntimeError('patched')\n"
              "real_print = print\n"
              "builtins.len = builtins.open = builtins.repr = builtins.isinstance = broken\n"
              "def total(xs):\n    acc = 0\n    for x in xs:\n        acc += x\n    return acc\n"
              "real_print(total([1, 2, 3]))\n"
              "builtins.print = broken\n")
    python, trace = _same_as_python(tmp_path, source)
    assert python.stdout == b"6\n"
    assert trace.outcome["outcome"] == "finished"
    assert [e["value"] for e in trace.events if e["event"] == "return" and e["func"] == "total"] == ["6"]


def test_a_program_that_takes_the_trace_hook_says_where_the_recording_stopped(tmp_path):
    if sys.version_info >= (3, 12):
        source = ("import sys\nx = 1\nmon = sys.monitoring\n"
                  "for tool in range(6):\n    mon.set_events(tool, 0) if mon.get_tool(tool) else None\n"
                  "def f():\n    return 2\ny = f()\nprint(x + y)\n")
    else:
        source = "import sys\nx = 1\nsys.settrace(None)\ndef f():\n    return 2\ny = f()\nprint(x + y)\n"
    python, trace = _same_as_python(tmp_path, source)
    assert python.stdout == b"3\n"
    stopped = trace.outcome["recording_stopped"]
    assert "sys." in stopped["by"] and "recording stopped" in trace.outcome["message"]
    assert any(e.get("changes", {}).get("x") == "1" for e in trace.events)  # what came before is kept
    assert not any(e["func"] == "f" for e in trace.events)  # the call after it was not recorded


def test_a_program_that_ignores_sigterm_keeps_its_partial_trace_at_the_timeout(tmp_path):
    source = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ni = 0\nwhile True:\n    i += 1\n"
    script = _program(tmp_path, source)
    duck, trace = _duck(script, "--timeout", "5", "--max-steps", "1000000000")  # the timeout, not the step cap, must stop it (a slow start on a busy machine still records events)
    assert trace.outcome["outcome"] == "limit" and trace.outcome["limit"] == "timeout"
    assert trace.events and _events_are_contiguous(trace)
    assert trace.outcome["steps"] == len(trace.events)  # every recorded step was written, none lost to a kill


def test_a_sigterm_the_program_ignores_does_not_end_it(tmp_path):
    source = ("import os, signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nos.kill(os.getpid(), signal.SIGTERM)\n"
              "print('survived', signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)\n")
    python, trace = _same_as_python(tmp_path, source)
    assert python.stdout == b"survived True\n" and trace.outcome["outcome"] == "finished"


def test_del_at_exit_runs_as_under_python(tmp_path):
    source = "class A:\n    def __del__(self):\n        print('del ran')\na = A()\nprint('end')\n"
    python, trace = _same_as_python(tmp_path, source)
    assert python.stdout == b"end\ndel ran\n"
    assert _recorded_output(trace) == "end\ndel ran\n"


def test_the_end_waits_for_a_non_daemon_thread_and_its_output(tmp_path):
    source = ("import threading\nstart = threading.Event()\n"
              "def work():\n    start.wait()\n    print('thread done')\n"
              "threading.Thread(target=work).start()\nprint('main done')\nstart.set()\n")
    python, trace = _same_as_python(tmp_path, source)
    assert python.stdout == b"main done\nthread done\n"
    assert trace.outcome["outcome"] == "finished"


def test_a_thread_still_running_at_the_end_is_not_a_finished_run(tmp_path):
    source = ("import threading\nstop = threading.Event()\n"
              "threading.Thread(target=stop.wait, name='forever').start()\nprint('main done')\n")
    duck, trace = _duck(_program(tmp_path, source), "--timeout", "2")
    assert duck.stdout == b"main done\n"
    assert trace.outcome["outcome"] == "limit" and trace.outcome["limit"] == "timeout"
    assert "'forever'" in trace.outcome["message"] and "thread" in trace.outcome["message"]
    assert _recorded_output(trace) == "main done\n"


def test_a_daemon_thread_still_running_at_the_end_is_dropped_as_python_does(tmp_path):
    source = ("import threading\nstop = threading.Event()\n"
              "threading.Thread(target=stop.wait, daemon=True).start()\nprint('main done')\n")
    python, trace = _same_as_python(tmp_path, source)
    assert python.returncode == 0 and trace.outcome["outcome"] == "finished"


# ----------------------------------------------------------------------------------- item 8
def test_os_write_and_stdout_buffer_writes_are_in_the_trace_at_their_steps(tmp_path):
    source = ("import os, sys\nos.write(1, b'raw\\n')\nsys.stdout.buffer.write('caf\\u00e9\\n'.encode()[:4])\n"
              "sys.stdout.buffer.write('caf\\u00e9\\n'.encode()[4:])\nsys.stdout.buffer.flush()\n"
              "os.write(2, b'err\\n')\nprint('text')\n")
    python, trace = _same_as_python(tmp_path, source)
    assert _recorded_output(trace) == python.stdout.decode() == "raw\ncafé\ntext\n"
    assert _recorded_output(trace, "stderr") == "err\n"
    by_line = {e["line"]: e.get("stdout") for e in trace.events if e["event"] == "line"}
    assert by_line[2] == "raw\n" and by_line[4] == "é\n"  # the step that wrote it, the split character whole


def test_the_program_does_not_see_ducks_frames_beneath_its_own(tmp_path):
    """The main script's frame is the outermost, as under python: the stack it inspects, prints, warns
    and logs from holds only its own frames (the C core; the pure fallback cannot hide them)."""
    from duck.trace.localdiff import speedups

    if speedups is None or not hasattr(speedups, "run_as_outermost"):
        pytest.skip("the C core is not built")
    source = ("import inspect, logging, sys, traceback, warnings\n"
              "print([f.function for f in inspect.stack()], sys._getframe().f_back)\n"
              "traceback.print_stack()\nwarnings.warn('w', stacklevel=2)\n"
              "def f():\n    traceback.print_stack()\n    return [fr.filename for fr in inspect.stack()]\n"
              "print(f())\nlogging.warning('hi')\nraise ValueError('end')\n")
    python, trace = _same_as_python(tmp_path, source)
    assert python.stdout.startswith(b"['<module>'] None\n") and b"UserWarning: w" in python.stderr
    assert trace.outcome["exception"]["type"] == "ValueError"
    assert [e["line"] for e in trace.events if e["event"] == "line"][:2] == [1, 2]


def test_a_subprocesss_output_is_in_the_trace_at_the_step_that_waited_for_it(tmp_path):
    """With no echo (duck's fds 1/2 are files), what a subprocess writes is read back: not lost, and
    told at the step that ran it; the program's own os.write is not counted twice."""
    source = ("import os, subprocess, sys\nprint('a')\nos.system('echo sys')\n"
              "subprocess.run([sys.executable, '-c', \"import sys; print('out'); print('err', file=sys.stderr)\"])\n"
              "os.write(1, b'raw\\n')\nprint('b')\n")
    script = _program(tmp_path, source)
    python = _python(script)
    quiet, trace = _duck(script, "--quiet")
    assert quiet.stdout == b"" and quiet.returncode == python.returncode == 0
    assert _recorded_output(trace) == "a\nsys\nout\nraw\nb\n"  # the program's order
    assert sorted(_recorded_output(trace).splitlines()) == sorted(python.stdout.decode().splitlines())
    assert _recorded_output(trace, "stderr") == python.stderr.decode() == "err\n"
    by_line = {e["line"]: (e.get("stdout"), e.get("stderr")) for e in trace.events if e["event"] == "line"}
    assert by_line[3] == ("sys\n", None) and by_line[4] == ("out\n", "err\n") and by_line[5] == ("raw\n", None)
    plain = subprocess.run([sys.executable, "-m", "duck", "run", str(script), "--plain"], capture_output=True,
                           env=_env(), cwd=tmp_path, timeout=300, text=True)
    assert "### Output:\na\nsys\nout\nraw\nb\n" in plain.stdout and "### Error output:\nerr\n" in plain.stdout


@pytest.mark.parametrize("write", ["os.write(1, b'x' * 1000)", "sys.stdout.buffer.write(b'x' * 1000)"])
def test_raw_writes_count_against_max_output(tmp_path, write):
    source = f"import os, sys\nwhile True:\n    {write}\n"
    duck, trace = _duck(_program(tmp_path, source), "--max-output", "5000", "--quiet")
    assert trace.outcome["outcome"] == "limit" and trace.outcome["limit"] == "output"
    assert 4000 <= len(_recorded_output(trace)) <= 5000


def test_escape_sequences_never_reach_the_terminal_from_duck(tmp_path):
    source = "print('\\x1b[31mred\\x1b[0m')\nraise ValueError('\\x1b]0;title\\x07')\n"
    script = _program(tmp_path, source)
    python = _python(script)
    recorded, trace = _duck(script)
    assert (recorded.stdout, recorded.stderr) == (python.stdout, python.stderr)  # the program's own output: as python
    summary = subprocess.run([sys.executable, "-m", "duck", "record", str(script), "-o", str(tmp_path / "q.trace"),
                              "--quiet"], capture_output=True, env=_env(), cwd=tmp_path).stderr
    assert b"\x1b" not in summary and b"\x07" not in summary and b"\\x1b]0;title\\x07" in summary
    plain, _ = _duck(script, command="run")
    assert b"\x1b" not in plain.stdout and b"\x07" not in plain.stdout and b"\\x1b[31mred" in plain.stdout


def test_a_deep_recursion_error_gives_a_readable_trace_and_pythons_traceback(tmp_path):
    source = ("import sys\nsys.setrecursionlimit(12000)\n"
              "def f(n):\n    return g(n + 1)\ndef g(n):\n    return f(n + 1)\nf(0)\n")
    python, trace = _same_as_python(tmp_path, source)
    exc = trace.outcome["exception"]
    assert exc["type"] == "RecursionError" and python.returncode == 1
    assert len(exc["traceback"]) <= 200 and exc["omitted"]["frames"] > 10_000
    assert exc["traceback"][0]["func"] == "<module>" and exc["traceback"][-1]["func"] in ("f", "g")


def test_repeated_frames_are_folded_as_python_folds_them(tmp_path):
    source = "import sys\nsys.setrecursionlimit(12000)\ndef f(n):\n    return f(n + 1)\nf(0)\n"
    python, trace = _same_as_python(tmp_path, source)
    frames = trace.outcome["exception"]["traceback"]
    assert [f["func"] for f in frames] == ["<module>", "f", "f", "f"] and frames[-1]["repeated"] > 10_000


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_gives_a_readable_trace(tmp_path):
    folder = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9")))
    folder.mkdir()
    python, trace = _same_as_python(folder, "x = 1\nprint(x)\n")
    assert python.stdout == b"1\n"
    assert trace.events[0]["file"].endswith("caf\\udce9/prog.py")
    assert set(trace.sources) == {trace.events[0]["file"]}
    from duck.session import Session

    session = Session.load(folder / "run.trace")
    assert session.outcome["outcome"] == "finished"


def test_the_step_limit_reached_deep_in_a_recursion_keeps_the_trace(tmp_path):
    """The limit stops the run about a thousand frames deep: duck's own finishing calls still have room."""
    script = _program(tmp_path, "def depth(n):\n    return depth(n + 1)\n\n\ndepth(0)\n")
    duck, trace = _duck(script, "--max-steps", "2000")
    assert trace.outcome["outcome"] == "limit" and trace.outcome["limit"] == "max_steps"
    assert trace.outcome["steps"] == len(trace.events) >= 2000
    assert duck.returncode == 3 and b"Traceback" not in duck.stderr


def test_a_child_killed_before_it_said_how_it_ended_is_summed_up_without_a_traceback(tmp_path):
    script = _program(tmp_path, "import os, signal\nx = [1] * 10\nos.kill(os.getpid(), signal.SIGKILL)\n")
    duck, trace = _duck(script)
    assert trace.outcome["steps"] == len(trace.events)  # counted from the trace: the child wrote no status
    assert duck.returncode == 137 and b"Traceback" not in duck.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_program_dies_with_duck(tmp_path):
    """duck killed outright (no handler runs) while recording: the program does not stay behind."""
    import time

    pid_file = tmp_path / "pid"
    script = _program(tmp_path, f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                "while True:\n    time.sleep(0.01)\n")
    duck = subprocess.Popen([sys.executable, "-m", "duck", "record", str(script), "-o", str(tmp_path / "t.trace"),
                             "--timeout", "300", "--quiet"], env=_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        program = int(pid_file.read_text())
    finally:
        duck.send_signal(signal.SIGKILL)
        duck.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(program, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(program, signal.SIGKILL)
    pytest.fail("the recorded program outlived duck")


def _duck_elsewhere(script: Path, cwd: Path) -> tuple[Ran, object]:
    """``_duck``, started in ``cwd``: ``python -m duck`` puts its working directory first on duck's own sys.path."""
    trace_path = cwd / "run.trace"
    proc = subprocess.run([sys.executable, "-m", "duck", "record", str(script), "-o", str(trace_path)],
                          capture_output=True, env=_env(), cwd=cwd, timeout=300)
    stderr = b"".join(line for line in proc.stderr.splitlines(keepends=True) if not line.startswith(b"duck: recorded"))
    return Ran(proc.returncode, proc.stdout, stderr), read_trace(trace_path)


def test_the_programs_own_modules_win_over_the_ones_duck_imported(tmp_path):
    """A program whose folder holds json.py, opcode.py, a random/ package or a duck.py imports its own, as under
    python, though duck's child had imported the stdlib's (and duck) before the program started; duck, which
    imports traceback once the program has raised, still formats its traceback."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "json.py").write_text("NAME = 'own json'\n")
    (app / "opcode.py").write_text("NAME = 'own opcode'\n")
    (app / "random").mkdir()
    (app / "random" / "__init__.py").write_text("NAME = 'own random package'\n")
    (app / "random" / "sub.py").write_text("NAME = 'own random.sub'\n")
    (app / "duck.py").write_text("NAME = 'own duck'\n")  # duck's own package: its submodules stay duck's
    script = _program(app, "import json, opcode, random, random.sub, duck\n"
                           "print(json.NAME, opcode.NAME, random.NAME, random.sub.NAME, duck.NAME)\n"
                           "raise ValueError(json.NAME)\n")
    plain = _python(script)
    assert plain.stdout == b"own json own opcode own random package own random.sub own duck\n", plain
    ran, trace = _duck_elsewhere(script, tmp_path)
    assert (ran.returncode, ran.stdout, ran.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert trace.outcome["exception"]["message"] == "own json"


def test_a_traceback_is_formatted_with_the_stdlib_though_the_program_has_a_tokenize_py(tmp_path):
    """duck imports traceback (linecache, tokenize) only to format one, after the program started: it gets
    the stdlib's, not the program's tokenize.py, which the program never imported and does not run."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "tokenize.py").write_text("print('own tokenize imported')\n")
    (app / "textwrap.py").write_text("print('own textwrap imported')\n")
    script = _program(app, "def f(x):\n    return 1 / x\n\nprint('start')\nf(0)\n")
    plain = _python(script)
    ran, trace = _duck_elsewhere(script, tmp_path)
    assert ran.stdout == b"start\n" and ran.returncode == plain.returncode == 1
    assert ran.stderr.endswith(b"    return 1 / x\n           ~~^~~\nZeroDivisionError: division by zero\n"), ran.stderr
    if sys.version_info < (3, 13):  # 3.13's own printer imports traceback, and so the program's tokenize.py
        assert (ran.stdout, ran.stderr) == (plain.stdout, plain.stderr)
    frames = trace.outcome["exception"]["traceback"]
    assert [f["text"] for f in frames] == ["f(0)", "return 1 / x"]


def test_sys_argv_0_is_the_path_as_typed_as_under_python(tmp_path):
    _program(tmp_path, "import sys\nprint(sys.argv)\n")
    python = subprocess.run([sys.executable, "prog.py", "a"], capture_output=True, env=_env(), cwd=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "duck", "record", "prog.py", "-o", "run.trace", "--", "a"],
                          capture_output=True, env=_env(), cwd=tmp_path, timeout=300)
    assert proc.stdout == python.stdout == b"['prog.py', 'a']\n"


@pytest.mark.parametrize("trace_format", ["binary", "jsonl"])
def test_stdin_that_is_not_utf8_reads_and_prints_as_under_python(tmp_path, trace_format):
    _program(tmp_path, "import sys\ns = sys.stdin.read()\nprint(sys.stdout.errors, repr(s))\nprint(s)\n")
    env = {k: v for k, v in _env().items() if k != "PYTHONIOENCODING"}
    env["LC_ALL"] = "C.UTF-8"  # python's stdin and stdout then use surrogateescape
    python = subprocess.run([sys.executable, "prog.py"], input=b"caf\xe9\n", capture_output=True, env=env,
                            cwd=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "duck", "record", "prog.py", "-o", "run.trace", "--format",
                           trace_format], input=b"caf\xe9\n", capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert python.stdout == b"surrogateescape 'caf\\udce9\\n'\ncaf\xe9\n\n"
    assert (proc.returncode, proc.stdout) == (0, python.stdout)
    trace = read_trace(tmp_path / "run.trace")
    assert _recorded_output(trace).endswith("caf\udce9\n\n")


def test_a_stdin_file_reaches_the_program_byte_for_byte(tmp_path):
    """--stdin FILE as `python prog.py < FILE`: CRLF kept, bytes that are not UTF-8 readable."""
    _program(tmp_path, "import sys\nprint(repr(sys.stdin.read()))\n")
    (tmp_path / "in.bin").write_bytes(b"a\r\nb\xff\n")
    env = {k: v for k, v in _env().items() if k != "PYTHONIOENCODING"}
    env["LC_ALL"] = "C.UTF-8"
    with open(tmp_path / "in.bin", "rb") as stdin:
        python = subprocess.run([sys.executable, "prog.py"], stdin=stdin, capture_output=True, env=env, cwd=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "duck", "record", "prog.py", "-o", "run.trace", "--stdin", "in.bin"],
                          capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert python.stdout == b"'a\\r\\nb\\udcff\\n'\n"
    assert (proc.returncode, proc.stdout) == (0, python.stdout)
