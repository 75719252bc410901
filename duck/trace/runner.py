"""The parent side of a recording: start the child interpreter, enforce the limits, write the outcome.

``record(RecordRequest(...), trace_path)`` checks that the target can start at all (a missing
file, a directory, a binary or non-UTF-8 file give a ``failed_to_start`` trace without
starting anything), runs ``python -m duck.trace._child`` in its own session with the user's
argv, cwd, environment and stdin, waits for it under the wall-time limit (SIGTERM, then
SIGKILL), turns Ctrl-C into a stopped recording, and then appends the source of every
recorded file and the outcome line to the trace, whatever way the child ended.

It does not trace anything itself (``duck.trace.recorder`` runs in the child) and it never
raises for something the program did: only for duck's own problems (``DuckError``).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from duck.errors import DuckError
from duck.trace.format import TraceWriter, header as make_header
from duck.trace.limits import Limits

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the ``duck`` package
_GRACE_S = 2.0  # how long a SIGTERMed child may take to flush before it is killed


@dataclass
class RecordRequest:
    """What to run and how (see docs/architecture.md, "Recording")."""

    script: Path | None = None
    argv: list[str] = field(default_factory=list)
    module: str | None = None
    cwd: Path | None = None
    env: dict[str, str] | None = None
    stdin: str | None = "inherit"
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    seed: int | None = 0
    limits: Limits = field(default_factory=Limits)
    python: str | None = None
    echo: bool = False
    format: int = 2  # trace format version to write: 2 (binary, duck.trace.binary) or 1 (JSON Lines)


@dataclass
class RecordResult:
    outcome: dict
    trace_path: Path

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
        import io

        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        return _failed_to_start(f"{script} is not valid UTF-8 text ({reason})",
                                "save the file as UTF-8, or declare its encoding with a `# -*- coding: ... -*-` line")
    return None


def _default_include(request: RecordRequest, cwd: Path) -> list[str]:
    if request.include and not request.script:
        return [str(Path(p).resolve()) for p in request.include]
    base = [str(request.script.resolve().parent)] if request.script else [str(cwd)]
    return base + [str(Path(p).resolve()) for p in request.include]


def record(request: RecordRequest, trace_path: Path) -> RecordResult:
    """Record one run of ``request`` into ``trace_path`` and return its outcome (also the trace's last line)."""
    trace_path = Path(trace_path)
    try:
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        trace_path.write_text("", encoding="utf-8")
    except OSError as exc:
        raise DuckError(f"cannot write the trace {trace_path}: {exc.strerror or exc}",
                        "choose another path with -o, in a folder you can write to") from None
    cwd = Path(request.cwd or os.getcwd()).resolve()
    script = request.script if request.script is None or request.script.is_absolute() else (cwd / request.script)
    if script is not None:
        request = _replace(request, script=script)
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

    with tempfile.TemporaryDirectory(prefix="duck-record-") as tmp:
        tmpdir = Path(tmp)
        config = {
            "script": str(script) if script else None, "module": request.module,
            "argv0": str(script) if script else request.module, "argv": list(request.argv),
            "include": include, "exclude": exclude, "limits": limits.to_dict(),
            "seed": request.seed, "echo": request.echo, "trace": str(trace_path.resolve()),
            "status": str(tmpdir / "status.json"), "root": _PACKAGE_ROOT, "format": request.format,
        }
        env = dict(os.environ if request.env is None else request.env)
        config["pythonpath"] = env.get("PYTHONPATH")
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        if request.seed is not None:
            env["PYTHONHASHSEED"] = str(request.seed)
        env.setdefault("PYTHONIOENCODING", "utf-8")
        (tmpdir / "config.json").write_text(json.dumps(config), encoding="utf-8")
        python = request.python or sys.executable
        outcome = _run_child(python, tmpdir, cwd, env, request, limits)
    files = outcome.pop("files", None)
    _finish_trace(trace_path, base_header, files, outcome, request.format)
    return RecordResult(outcome, trace_path)


def _replace(request: RecordRequest, **changes) -> RecordRequest:
    import dataclasses

    return dataclasses.replace(request, **changes)


def _run_child(python: str, tmpdir: Path, cwd: Path, env: dict, request: RecordRequest, limits: Limits) -> dict:
    stdin_file = None
    if request.stdin is None:
        stdin = subprocess.DEVNULL
    elif request.stdin == "inherit":
        stdin = None
    else:
        path = tmpdir / "stdin.txt"
        path.write_text(request.stdin, encoding="utf-8")
        stdin_file = stdin = open(path, encoding="utf-8")
    log = None if request.echo else open(tmpdir / "child-output.txt", "wb")
    started = time.monotonic()
    stopped_by = None
    try:
        try:
            child = subprocess.Popen([python, "-m", "duck.trace._child", str(tmpdir / "config.json")],
                                     cwd=cwd, env=env, stdin=stdin, stdout=log, stderr=log, start_new_session=True)
        except OSError as exc:
            raise DuckError(f"cannot start the Python interpreter {python}: {exc.strerror or exc}",
                            "pass an existing interpreter (or leave it out to use duck's own)") from None
        try:
            child.wait(timeout=limits.timeout_s if limits.timeout_s and limits.timeout_s > 0 else None)
        except subprocess.TimeoutExpired:
            stopped_by = "timeout"
            _stop(child)
        except KeyboardInterrupt:
            stopped_by = "interrupted"
            _stop(child)
    finally:
        if stdin_file is not None:
            stdin_file.close()
        if log is not None:
            log.close()
    duration = time.monotonic() - started
    status_path = tmpdir / "status.json"
    status = None
    if status_path.exists():
        try:
            status = json.loads(status_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            status = None
    child_log = "" if request.echo else _tail(tmpdir / "child-output.txt")
    return _outcome(status, child.returncode, stopped_by, duration, limits, child_log)


def _stop(child: subprocess.Popen) -> None:
    """SIGTERM the child's process group (the child flushes what it recorded), then SIGKILL if it lingers."""
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
    if status is not None:
        base.update({k: status.get(k, base.get(k)) for k in ("steps", "exception", "message", "stdin", "files")})
        base["exit_code"] = status.get("exit_code", returncode)
        end = status.get("end")
    else:
        end = None
    if end == "terminated" or (end is None and stopped_by):
        reason = stopped_by or "interrupted"
        base.update(outcome="limit", limit=reason, exit_code=None,
                    message=_LIMIT_MESSAGES[reason].format(**limits.to_dict()))
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
    from duck.trace import binary

    head = make_header(python=None, implementation=sys.implementation.name, tracer=None, **base_header)
    if trace_path.stat().st_size:
        version = 2 if binary.is_v2(trace_path) else 1
    if version == 2:
        if files is None:
            files = binary.files_in_trace(trace_path) if binary.complete_size(trace_path) else []
        written = {"outcome": outcome.pop("outcome"), **outcome}
        binary.finish(trace_path, head, _source_records(files), written)
        outcome.clear()
        outcome.update(json.loads(json.dumps(written, ensure_ascii=False)))
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
    if files is None:
        files = _files_in_trace(trace_path)
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
    records = []
    for name in files:
        text = _source_text(name)
        if text is not None:
            records.append({"source": name, "text": text,
                            "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()})
    return records


def _last_line(path: Path) -> dict:
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(size - 1_000_000, 0))
        return json.loads(f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])


def _source_text(name: str) -> str | None:
    try:
        with tokenize.open(name) as f:
            return f.read()
    except (OSError, SyntaxError, UnicodeDecodeError):
        try:
            return Path(name).read_bytes().decode("utf-8", "replace")
        except OSError:
            return None


def _files_in_trace(path: Path) -> list[str]:
    """The files named by a trace's events (used when the child died before saying which it recorded)."""
    files: dict[str, None] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            start = line.find('"file":')
            if start < 0 or not line.startswith('{"step"'):
                continue
            try:
                name, _ = json.JSONDecoder().raw_decode(line, start + 7)
            except json.JSONDecodeError:
                continue
            files[name] = None
    return list(files)
