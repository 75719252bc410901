"""The parent side of a recording: start the child interpreter, enforce the limits, write the outcome.

``record(RecordRequest(...), trace_path)`` checks that the target can start at all (a missing
file, a directory, a binary or non-UTF-8 file give a ``failed_to_start`` trace without
starting anything), runs ``python .../duck/trace/_child.py`` in its own session with the user's
argv, cwd, environment (unchanged: nothing of duck's is added to it) and stdin, waits for it under the wall-time limit (SIGTERM, then
SIGKILL), turns Ctrl-C into a stopped recording, and then appends the source of every
recorded file and the outcome line to the trace, whatever way the child ended.

By default the child is started directly: ``duck run`` and ``duck record`` run the user's own
program, with its real side effects. ``record(..., sandbox=...)`` instead has a
``duck.sandbox.Sandbox`` exec the child confined, with the trace's folder as its only
writable place (``duck fix`` re-runs candidates that way); the child then also notes the
writes it tried outside (``duck.trace.writewatch``), which the outcome reports.

It does not trace anything itself (``duck.trace.recorder`` runs in the child) and it never
raises for something the program did: only for duck's own problems (``DuckError``).
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from duck.errors import DuckError
from duck.trace.format import header as make_header, spelled_out
from duck.trace.limits import Limits

_CHILD = str(Path(__file__).resolve().with_name("_child.py"))  # started by path: see its top
_GRACE_S = 2.0  # how long a SIGTERMed child may take to flush before it is killed


_REQUEST_FIELDS = ("script", "argv", "module", "cwd", "env", "stdin", "include", "exclude", "seed", "limits",
                   "python", "echo", "format")


class RecordRequest:
    """What to run and how (see docs/architecture.md, "Recording").

    Written by hand rather than as a dataclass: ``dataclasses`` (with the ``inspect``, ``ast`` and
    ``dis`` it pulls in) was a sizeable part of ``duck record``'s start-up. It compares and prints
    as the dataclass did; ``request.replace(stdin=None)`` stands for ``dataclasses.replace``.
    """

    __slots__ = _REQUEST_FIELDS

    def __init__(self, script: Path | None = None, argv: list[str] | None = None, module: str | None = None,
                 cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = "inherit",
                 include: list[str] | None = None, exclude: list[str] | None = None, seed: int | None = 0,
                 limits: Limits | None = None, python: str | None = None, echo: bool = False,
                 format: int = 2) -> None:
        self.script = script
        self.argv = [] if argv is None else argv
        self.module = module
        self.cwd = cwd
        self.env = env
        self.stdin = stdin
        self.include = [] if include is None else include
        self.exclude = [] if exclude is None else exclude
        self.seed = seed
        self.limits = Limits() if limits is None else limits
        self.python = python
        self.echo = echo
        self.format = format  # trace format version to write: 2 (binary, duck.trace.binary) or 1 (JSON Lines)

    def to_dict(self) -> dict:
        """The fields by name (what ``dataclasses.asdict`` gave, without copying the values)."""
        return {name: getattr(self, name) for name in _REQUEST_FIELDS}

    def replace(self, **changes) -> RecordRequest:
        """A copy with ``changes`` (field names) applied, as ``dataclasses.replace`` gave."""
        unknown = set(changes) - set(_REQUEST_FIELDS)
        if unknown:
            raise TypeError(f"RecordRequest has no field {sorted(unknown)[0]!r}")
        return RecordRequest(**{**self.to_dict(), **changes})

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _REQUEST_FIELDS)

    __hash__ = None  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return "RecordRequest(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _REQUEST_FIELDS) + ")"


class RecordResult:
    """How a recording ended (``outcome``, also the trace's last record) and where its trace is."""

    __slots__ = ("outcome", "trace_path")

    def __init__(self, outcome: dict, trace_path: Path) -> None:
        self.outcome = outcome
        self.trace_path = trace_path

    def __repr__(self) -> str:
        return f"RecordResult(outcome={self.outcome!r}, trace_path={self.trace_path!r})"

    @property
    def steps(self) -> int:
        return int(self.outcome.get("steps", 0))

    @property
    def kind(self) -> str:
        return self.outcome["outcome"]


def _failed_to_start(message: str, hint: str | None = None, exception: dict | None = None) -> dict:
    outcome = {"outcome": "failed_to_start", "steps": 0, "exit_code": None, "duration_s": 0.0,
               "exception": exception, "limit": None, "message": message, "stdin": ""}
    if hint:
        outcome["hint"] = hint
    return outcome


def check_script(script: Path) -> dict | None:
    """A ``failed_to_start`` outcome if ``script`` cannot be run as Python source, else None."""
    if not script.exists():
        return _failed_to_start(f"{script}: no such file", "check the path, or run `ls` to see what is there")
    if script.is_dir():
        return _failed_to_start(f"{script} is a directory, not a Python file",
                                "name the .py file to run inside it")
    try:
        data = script.read_bytes()
    except OSError as exc:
        return _failed_to_start(f"cannot read {script}: {exc.strerror or exc}", "check the file's permissions")
    if b"\0" in data[:65536]:
        return _failed_to_start(f"{script} is a binary file, not Python source", "name a .py source file")
    try:
        data.decode(_source_encoding(data))
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        return _failed_to_start(f"{script} is not valid UTF-8 text ({reason})",
                                "save the file as UTF-8, or declare its encoding with a `# -*- coding: ... -*-` line")
    return None


def program_io_encoding() -> str:
    """The program's ``PYTHONIOENCODING``: UTF-8 always, with the error handler this interpreter
    gives standard streams in this environment (python's choice: surrogateescape in a C or UTF-8
    locale), so bytes that are not UTF-8 on stdin, or printed file names, work as under python.
    For recorded runs here and ``duck fix``'s sandboxed ones (``duck.repair.verify``)."""
    for stream in (sys.__stdout__, sys.__stdin__):  # stderr's is always backslashreplace
        errors = getattr(stream, "errors", None)
        if errors:
            return f"utf-8:{errors}"
    return "utf-8:strict"


def _default_include(request: RecordRequest, cwd: Path) -> list[str]:
    if request.include and not request.script:
        return [str(Path(p).resolve()) for p in request.include]
    base = [str(request.script.resolve().parent)] if request.script else [str(cwd)]
    return base + [str(Path(p).resolve()) for p in request.include]


def record(request: RecordRequest, trace_path: Path, *, sandbox=None, fork: bool = False) -> RecordResult:
    """Record one run of ``request`` into ``trace_path`` and return its outcome (also the trace's last line).

    ``sandbox`` (a ``duck.sandbox.Sandbox``): run the child confined in it; the folder of
    ``trace_path`` is then the only place it may write, and ``request.env`` is used exactly
    as given (the caller builds it with ``duck.sandbox.allowed_env``). ``fork``: the child is
    forked from the sandbox's server (which must preload ``duck.trace.child``) instead of
    exec'd as a fresh interpreter: same trace, without an interpreter start (see
    ``_start_confined``).
    """
    trace_path = Path(trace_path)
    try:
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        trace_path.write_text("", encoding="utf-8")
    except OSError as exc:
        raise DuckError(f"cannot write the trace {trace_path}: {exc.strerror or exc}",
                        "choose another path with -o, in a folder you can write to") from None
    cwd = Path(request.cwd or os.getcwd()).resolve()
    argv0 = str(request.script) if request.script is not None else request.module  # as typed: python's sys.argv[0]
    script = request.script if request.script is None or request.script.is_absolute() else (cwd / request.script)
    if script is not None:
        request = request.replace(script=script)
    include = _default_include(request, cwd)
    exclude = [str(Path(p).resolve()) for p in request.exclude]
    limits = request.limits
    base_header = {"argv": [str(script) if script else request.module or "", *request.argv],
                   "script": str(script) if script else None, "module": request.module, "cwd": str(cwd),
                   "include": include, "exclude": exclude, "limits": limits.to_dict()}
    if not request.module:
        if script is None:
            raise DuckError("nothing to record: no script and no module given", "name a .py file")
        failed = check_script(script)
        if failed is not None:
            _finish_trace(trace_path, base_header, [], failed, request.format)
            return RecordResult(failed, trace_path)

    writable = trace_path.resolve().parent
    tmpdir = Path(_private_folder(writable if sandbox is not None else None))
    try:
        config = {
            "script": str(script) if script else None, "module": request.module,
            "argv0": argv0, "argv": list(request.argv),
            "include": include, "exclude": exclude, "limits": limits.to_dict(),
            "seed": request.seed, "echo": request.echo, "trace": str(trace_path.resolve()),
            "status": str(tmpdir / "status"), "stop": str(tmpdir / "stop"), "format": request.format,
        }
        if not request.echo:  # fd 1/2 are these files: the child reads back what reaches them unseen
            config["output_files"] = [str(tmpdir / name) for name in _OUTPUT_FILES]
        if sandbox is not None:
            config["watch_writes"] = [str(writable)]
            if request.env is None:  # confined: the allowlisted environment only
                from duck.sandbox import allowed_env

                request = request.replace(env=allowed_env(None, str(tmpdir)))
        else:  # unconfined: the program gets the user's environment, as under plain python
            config["parent"] = os.getpid()  # the child dies with duck (a confined one dies with its server)
            if request.python is None and request.env is None:
                # the child's interpreter and environment are this process's: its default excludes are
                # these, and sysconfig (on 3.12+ with threading, functools, collections) stays out of it
                from duck.trace.policy import default_excludes

                config["implicit_exclude"] = default_excludes()
        env = dict(os.environ if request.env is None else request.env)
        if request.seed is not None:
            env["PYTHONHASHSEED"] = str(request.seed)
        env.setdefault("PYTHONIOENCODING", program_io_encoding())
        write_config(tmpdir / "config", config)
        python = request.python or sys.executable
        if sandbox is None:
            outcome = _run_child(python, tmpdir, cwd, env, request, limits)
        else:
            outcome = _run_confined(sandbox, python, tmpdir, writable, cwd, env, request, limits, fork)
    finally:
        _remove_folder(tmpdir)
    files = outcome.pop("files", None)
    _finish_trace(trace_path, base_header, files, outcome, request.format)
    return RecordResult(outcome, trace_path)


def write_config(path, config: dict) -> None:
    """The child's config file: ``marshal`` (plain dicts, lists, strings and numbers; any Python 3 reads
    version 4), which the child reads without importing ``json`` and the ``re`` and ``enum`` it brings."""
    with open(path, "wb") as f:
        f.write(marshal.dumps(config, 4))


def _read_status(path) -> dict | None:
    """The child's last status file (``marshal``, see ``duck.trace.child``), or None where it wrote none."""
    try:
        with open(path, "rb") as f:
            status = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return status if isinstance(status, dict) else None


def _private_folder(within: Path | None) -> str:
    """A new folder that only this user may enter, for the child's config, status and stop files.

    ``tempfile.mkdtemp(prefix="duck-record-", dir=within)``, without importing ``tempfile`` on the
    usual path (with the ``shutil`` and ``random`` it loads, ~3 ms of ``duck record``'s start-up):
    a random name in ``within``, else in the folder TMPDIR (TEMP, TMP) names, else /tmp. Where
    that cannot be made (no such folder, not writable), ``tempfile`` looks further, as before.
    """
    if within is None and "tempfile" not in sys.modules:  # loaded anyway: it may have its own tempdir set
        base = os.environ.get("TMPDIR") or os.environ.get("TEMP") or os.environ.get("TMP") or "/tmp"
    elif within is not None:
        base = str(within)
    else:
        base = None
    for _ in range(100 if base is not None else 0):
        path = os.path.join(os.path.abspath(base), "duck-record-" + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
        except OSError:
            break
    import tempfile

    return tempfile.mkdtemp(prefix="duck-record-", dir=within)


def _remove_folder(folder: Path) -> None:
    """Remove the child's folder: its files one by one, or the whole tree with ``shutil`` where it holds
    more (a confined program's HOME and TMPDIR are there)."""
    try:
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                raise IsADirectoryError(entry.path)
            os.unlink(entry.path)
        os.rmdir(folder)
    except OSError:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _run_child(python: str, tmpdir: Path, cwd: Path, env: dict, request: RecordRequest, limits: Limits) -> dict:
    stdin_file = None
    if request.stdin is None:
        stdin = subprocess.DEVNULL
    elif request.stdin == "inherit":
        stdin = None
    else:
        path = tmpdir / "stdin.txt"
        path.write_bytes(request.stdin.encode("utf-8", "surrogateescape"))  # the bytes --stdin named, unchanged
        stdin_file = stdin = open(path, encoding="utf-8")
    out = err = None
    if not request.echo:
        out, err = (open(tmpdir / name, "wb") for name in _OUTPUT_FILES)
    started = time.monotonic()
    stopped_by = None
    try:
        try:
            child = subprocess.Popen([python, _CHILD, str(tmpdir / "config")],
                                     cwd=cwd, env=env, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
        except OSError as exc:
            raise DuckError(f"cannot start the Python interpreter {python}: {exc.strerror or exc}",
                            "pass an existing interpreter (or leave it out to use duck's own)") from None
        try:
            _wait(child, limits.timeout_s if limits.timeout_s and limits.timeout_s > 0 else None)
        except subprocess.TimeoutExpired:
            stopped_by = "timeout"
            _stop(child, tmpdir / "stop")
        except KeyboardInterrupt:
            stopped_by = "interrupted"
            _stop(child, tmpdir / "stop")
    finally:
        if stdin_file is not None:
            stdin_file.close()
        for log in (out, err):
            if log is not None:
                log.close()
    duration = time.monotonic() - started
    status = _read_status(tmpdir / "status")
    child_log = "" if request.echo else (_tail(tmpdir / _OUTPUT_FILES[1]) or _tail(tmpdir / _OUTPUT_FILES[0]))
    return _outcome(status, child.returncode, stopped_by, duration, limits, child_log)


def _run_confined(sandbox, python: str, tmpdir: Path, writable: Path, cwd: Path, env: dict,
                  request: RecordRequest, limits: Limits, fork: bool = False) -> dict:
    """``_run_child`` through a ``duck.sandbox.Sandbox``: the child is exec'd confined, writing only
    beneath ``writable``. A confined child cannot inherit duck's terminal, so an inherited stdin
    is relayed through a FIFO and, with ``echo``, its output is copied to duck's own streams."""
    stdin_path = relay = None
    if request.stdin == "inherit":
        stdin_path = tmpdir / "stdin.fifo"
        relay = _StdinRelay(stdin_path)
    elif request.stdin is not None:
        stdin_path = tmpdir / "stdin.txt"
        stdin_path.write_text(request.stdin, encoding="utf-8")
    out, err = (tmpdir / name for name in _OUTPUT_FILES)
    echo = _Echo([(out, sys.stdout), (err, sys.stderr)]) if request.echo else None
    duck_root = str(Path(_CHILD).parents[2])  # the child imports duck.trace from here
    readable = [duck_root, *(p for p in (env.get("PYTHONPATH") or "").split(os.pathsep) if os.path.isabs(p))]
    timeout = limits.timeout_s if limits.timeout_s and limits.timeout_s > 0 else None
    try:
        run = _start_confined(sandbox, fork, [python, _CHILD, str(tmpdir / "config")], cwd=cwd, env=env,
                              timeout_s=timeout, stdin=stdin_path, stdout=out, stderr=err, writable=[writable],
                              readable=readable, grace_s=_GRACE_S)
    finally:
        if relay is not None:
            relay.close()
        if echo is not None:
            echo.close()
    if run.stopped_by == "crashed" or (run.error and run.exit_code in (125, 127)):
        raise DuckError(f"cannot start the recording in the sandbox: {run.error or 'it failed'}",
                        "check that duck's Python still exists; run duck fix --jobs 1 to see if it is a load problem")
    stopped_by = {"timeout": "timeout", "cancelled": "interrupted"}.get(run.stopped_by or "")
    status = _read_status(tmpdir / "status")
    returncode = run.exit_code if run.exit_code is not None else -(run.signal or 0)
    child_log = "" if request.echo else (_tail(err) or _tail(out))
    outcome = _outcome(status, returncode, stopped_by, run.duration_s, limits, child_log)
    if status is not None and status.get("writes_outside"):
        outcome["writes_outside"] = list(status["writes_outside"])
    outcome["confined"] = bool((run.confinement or {}).get("landlock"))
    return outcome


def _start_confined(sandbox, fork: bool, argv: list[str], **options):
    """Run the recorder's child confined: exec'd (``argv``: a fresh interpreter), or, with
    ``fork``, forked from the sandbox's server, which has the recorder imported already
    (``duck.sandbox.program.record_main``: the child's own code, given what a fresh
    interpreter would; the same confinement, limits and stop). A forked child whose set-up
    failed before the recording began (no trace header) reports it as a sandbox error, as a
    failed exec does; a failure after that is the run's end, as in an exec'd child."""
    if not fork:
        return sandbox.exec(argv, **options)
    payload = {"config": argv[-1], "env": options.pop("env")}
    for key in ("stdin", "stdout", "stderr"):
        path = options.pop(key)
        payload[key] = str(path) if path else None
    run = sandbox.call("duck.sandbox.program:record_main", payload, timeout_s=options.pop("timeout_s") or 0,
                       **options)
    if run.error and run.exit_code is not None and run.stopped_by is None:
        from duck.trace.child import read_config  # the one reader of write_config's file (duck fix's path)

        if not os.path.getsize(read_config(argv[-1])["trace"]):
            run.exit_code = 127  # the job function raised before the recording began: duck's problem
    return run


class _StdinRelay:
    """Duck's own stdin fed to a confined child through a FIFO, until either side ends."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path, 0o600)
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="duck-stdin-relay", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        try:
            sink = os.open(self.path, os.O_WRONLY)  # waits for the child to open it
        except OSError:
            return
        try:
            source = sys.stdin.fileno() if sys.stdin is not None else None
            while source is not None and not self._stop.is_set():
                if not select.select([source], [], [], 0.1)[0]:
                    continue
                data = os.read(source, 65536)
                if not data:
                    break
                os.write(sink, data)
        except (OSError, ValueError):
            pass  # duck's stdin is closed or not a file, or the child stopped reading: the child sees EOF
        finally:
            os.close(sink)

    def close(self) -> None:
        self._stop.set()
        try:  # a relay still waiting for a reader (the child never opened its stdin) is released
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass
        self._thread.join(timeout=1.0)


class _Echo:
    """Copies what a confined child writes to its output files onto duck's own streams as it comes."""

    def __init__(self, pairs: list[tuple[Path, object]]) -> None:
        self.pairs = pairs
        self.offsets = [0] * len(pairs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="duck-echo", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        for i, (path, stream) in enumerate(self.pairs):
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets[i])
                    data = f.read()
            except OSError:
                continue
            if data:
                self.offsets[i] += len(data)
                try:
                    stream.flush()  # what duck itself wrote comes first
                    if hasattr(stream, "buffer"):
                        stream.buffer.write(data)
                        stream.buffer.flush()
                    else:
                        stream.write(data.decode("utf-8", "replace"))
                        stream.flush()
                except (OSError, ValueError):
                    pass

    def _follow(self) -> None:
        while not self._stop.wait(0.05):
            self._copy()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._copy()


def _stop(child: subprocess.Popen, stop_file: Path) -> None:
    """SIGTERM the child's process group (the child flushes what it recorded), then SIGKILL if it lingers.

    ``stop_file`` is created first: it tells the child's handler that duck, not the program,
    sent the SIGTERM, so the trace is finished even when the program ignores SIGTERM.
    """
    try:
        stop_file.touch()
    except OSError:
        pass
    for sig, wait in ((signal.SIGTERM, _GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:  # a second Ctrl-C: kill at once
            continue


def _wait(child: subprocess.Popen, timeout: float | None) -> None:
    """``child.wait(timeout)`` that returns as the child ends: Popen polls with sleeps of up to 50 ms."""
    try:
        pidfd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):  # not Linux 5.3+
        child.wait(timeout=timeout)
        return
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(child.args, timeout)
    finally:
        os.close(pidfd)
    child.wait()


_OUTPUT_FILES = ("child-stdout.txt", "child-stderr.txt")  # the child's fd 1 and 2 where duck does not echo


def _tail(path: Path, size: int = 2000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-size:].decode("utf-8", "replace")


_LIMIT_MESSAGES = {
    "timeout": "stopped after {timeout_s:g} s of wall time (--timeout)",
    "interrupted": "stopped by Ctrl-C; what was recorded until then is kept",
}


def _outcome(status: dict | None, returncode: int, stopped_by: str | None, duration: float,
             limits: Limits, child_log: str) -> dict:
    base = {"steps": 0, "exit_code": returncode, "duration_s": round(duration, 3), "exception": None,
            "limit": None, "message": None, "stdin": ""}
    end = None
    if status is not None:
        base.update({k: status.get(k, base.get(k)) for k in ("steps", "exception", "message", "stdin", "files")})
        if status.get("recording_stopped"):
            base["recording_stopped"] = status["recording_stopped"]
        base["exit_code"] = status.get("exit_code", returncode)
        end = status.get("end")
        if end == "exec":  # the program replaced itself: the exec'd program's status is the run's
            base["exit_code"] = returncode
            end = "finished" if returncode == 0 else "exited"
    threads = (status or {}).get("threads") or (status or {}).get("waiting_for_threads")
    if end == "terminated" or (stopped_by and (end is None or (status or {}).get("waiting_for_threads"))):
        reason = stopped_by or "interrupted"
        message = _LIMIT_MESSAGES[reason].format(**limits.to_dict())
        if threads:
            message += (f"; the program's main code had ended, but its non-daemon thread{'s' if len(threads) > 1 else ''} "
                        f"{', '.join(map(repr, threads))} still ran, and Python waits for them")
        elif status is None and returncode == -getattr(signal, "SIGKILL", 9):
            message += "; it did not stop on SIGTERM and was killed, so its last steps may be missing"
        base.update(outcome="limit", limit=reason, exit_code=None, message=message)
    elif end in ("finished", "exited", "exception", "failed_to_start"):
        base["outcome"] = end
        if end == "finished" and base["exit_code"] not in (0, None):
            base["outcome"] = "exited"
    elif end == "limit":
        base.update(outcome="limit", limit=status.get("limit"), exit_code=None)
    else:  # the child vanished without a status: killed by a signal, or a crash inside the interpreter
        if returncode is not None and returncode < 0:
            name = _signal_name(-returncode)
            message = f"the program was killed by {name}"
            if -returncode == getattr(signal, "SIGKILL", 9):
                message += " (perhaps the system ran out of memory)"
        else:
            message = f"the program ended with exit status {returncode} before duck could record how"
        if child_log.strip():
            message += "; its last output: " + child_log.strip()[-500:]
        base.update(outcome="exited", message=message)
    if status is None:
        base["steps"] = None  # counted from the trace by _finish_trace
    return base


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _finish_trace(trace_path: Path, base_header: dict, files: list[str] | None, outcome: dict,
                  version: int = 2) -> None:
    """Append the sources and the outcome; write a header first if the child never did; cut a torn end.

    The trace's format is the one the child started writing (else ``version``, for a child that never wrote).
    """
    from duck.trace import framing  # not the reader, duck.trace.binary: see framing's docstring

    head = make_header(python=None, implementation=sys.implementation.name, tracer=None, **base_header)
    if trace_path.stat().st_size:
        version = 2 if framing.is_v2(trace_path) else 1
    if version == 2:
        size, steps = framing.scan(trace_path)
        if files is None:  # the child never said (it died): the files its code table names
            from duck.trace.binary import files_in_trace

            files = files_in_trace(trace_path) if size else []
        if outcome.get("steps") is None:  # the child never said (it died): count what it wrote
            outcome["steps"] = steps
        written = {"outcome": outcome.pop("outcome"), **outcome}
        framing.finish(trace_path, head, _source_records(files), written, size)
        outcome.clear()
        outcome.update(spelled_out(written))  # as read back (JSON: lists for tuples, surrogates spelled out)
        return
    with open(trace_path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(max(size - 1, 0))
            if f.read(1) != b"\n":
                f.seek(max(size - 65536 * 16, 0))
                tail = f.read()
                cut = tail.rfind(b"\n")
                f.truncate(size - len(tail) + cut + 1 if cut >= 0 else 0)
                size = f.seek(0, os.SEEK_END)
    if files is None or outcome.get("steps") is None:
        found, outcome["steps"] = _scan_trace(trace_path)
        files = found if files is None else files
    from duck.trace.format import TraceWriter

    with open(trace_path, "a", encoding="utf-8", errors="backslashreplace", newline="\n") as stream:
        writer = TraceWriter(stream)
        if size == 0:
            writer.write(head)
        writer.write_all(_source_records(files))
        writer.write({"outcome": outcome.pop("outcome"), **outcome})
    outcome_line = _last_line(trace_path)
    outcome.clear()
    outcome.update(outcome_line)


def _source_records(files: list[str]) -> list[dict]:
    sha256 = _sha256()
    records = []
    for name in files:
        text = _source_text(name)
        if text is not None:
            records.append({"source": name, "text": text,
                            "sha256": sha256(text.encode("utf-8", "surrogatepass")).hexdigest()})
    return records


def _sha256():
    """``hashlib.sha256``, or the same digest from CPython's built-in module, which loads without OpenSSL
    (``hashlib`` itself falls back to it; importing ``hashlib`` costs ``duck record`` ~3 ms)."""
    try:
        from _sha2 import sha256  # 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # 3.11
        except ImportError:  # a build without the built-in hashes
            from hashlib import sha256
    return sha256


def _last_line(path: Path) -> dict:
    import json  # v1 only: duck record writes v2 without reading JSON back

    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(size - 1_000_000, 0))
        return json.loads(f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])


def _source_encoding(data: bytes) -> str:
    """``tokenize.detect_encoding``'s answer for Python source ``data`` (SyntaxError where it raises one).

    A file whose first two lines are UTF-8 and say nothing of a coding is UTF-8 (PEP 3120), which
    is every answer but the rare one: ``tokenize`` (with its ``re``, ~1 ms of each recording) is
    imported for a BOM or a line that mentions ``coding``, or lines that are not UTF-8.
    """
    head = data.split(b"\n", 2)[:2]
    if not data.startswith(b"\xef\xbb\xbf") and not any(b"coding" in line for line in head):
        try:
            for line in head:
                line.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    import io
    import tokenize

    return tokenize.detect_encoding(io.BytesIO(data).readline)[0]


def _source_text(name: str) -> str | None:
    """The text of a source file as ``tokenize.open(name).read()`` gives it (its coding, universal newlines)."""
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        text = data.decode(_source_encoding(data))
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return data.decode("utf-8", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _scan_trace(path: Path) -> tuple[list[str], int]:
    """The files named by a trace's events and how many events it has (when the child died before saying)."""
    import json

    files: dict[str, None] = {}
    steps = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            start = line.find('"file":')
            if start < 0 or not line.startswith('{"step"'):
                continue
            steps += 1
            try:
                name, _ = json.JSONDecoder().raw_decode(line, start + 7)
            except json.JSONDecodeError:
                continue
            files[name] = None
    return list(files), steps
