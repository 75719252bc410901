"""The child side of ``corpus.sandbox``: one long-lived, resource-limited Python worker.

Started by ``corpus.sandbox.SandboxPool`` as ``python -P -m corpus._sandbox_worker CONFIG``.
It reads one JSON request per line on its private copy of stdin and answers one JSON line
on its private copy of stdout; file descriptors 0 and 1 are pointed at /dev/null so that the
code it runs can neither read the protocol nor write into it.

Containment, in the spirit of human-eval's ``reliability_guard``: rlimits on address space,
CPU time, file size and process count; a working directory of its own; an audit hook
(``sys.addaudithook``, which cannot be removed) that refuses process creation, signals,
sockets, ctypes, rlimit changes, ``chdir`` and any file write, rename, removal or mode change
outside that directory, and records each refusal. This contains accidents and the usual
hostile samples (fork bombs, ``os.system``, ``rm -rf``, writes outside the sandbox, infinite
loops, huge allocations). It is NOT a security boundary against code written to escape a
Python process: run untrusted code at scale inside a container or VM as well.
"""

from __future__ import annotations

import ast
import io
import json
import os
import random
import resource
import shutil
import signal
import sys
import time

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

#: events refused whatever their arguments
_ALWAYS_BLOCKED = {
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "signal.pthread_kill", "subprocess.Popen", "pty.spawn",
    "os.chdir", "os.fchdir", "os.chroot", "os.putenv", "os.unsetenv",
    "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function",
    "resource.setrlimit", "resource.prlimit", "os.startfile", "webbrowser.open",
    "urllib.Request", "sys.remote_exec", "os.setxattr", "os.removexattr",
}
#: events allowed only when every path argument lies inside the working directory
_PATH_EVENTS = {
    "os.remove", "os.rmdir", "os.rename", "os.truncate", "os.chmod", "os.chown",
    "os.chflags", "os.mkdir", "os.link", "os.symlink", "os.utime", "shutil.rmtree",
    "shutil.move", "shutil.chown", "os.mkfifo", "os.mknod",
}


class SandboxTimeout(BaseException):
    """Raised inside the running code when its time is up (a BaseException, so that
    ``except Exception`` in the sample does not swallow it)."""


class _Guard:
    """The audit hook's state: on while sample code runs, with the refusals seen."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.active = False
        self.blocked: list[str] = []

    def _inside(self, path) -> bool:
        if isinstance(path, int):
            return True  # an already-open descriptor: opening it was checked
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        try:
            path = os.fspath(path)
        except TypeError:
            return False
        full = os.path.realpath(os.path.join(os.getcwd(), path))
        return full == self.root or full.startswith(self.root + os.sep)

    def _refuse(self, event: str, detail: str = "") -> None:
        self.blocked.append(event)
        raise PermissionError(f"duck sandbox: {event} is disabled{detail}")

    def hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event in _ALWAYS_BLOCKED:
            self._refuse(event)
        elif event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            writes = bool(isinstance(flags, int) and flags & _WRITE_FLAGS) or bool(
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writes and not self._inside(path):
                self._refuse(event, f" for writing outside the sandbox ({path!r})")
        elif event in _PATH_EVENTS:
            paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
            dir_fds = [a for a in args[1:] if isinstance(a, int) and a >= 0]
            if dir_fds or not all(self._inside(p) for p in paths):
                self._refuse(event, " outside the sandbox")


class _BoundedText(io.TextIOBase):
    """A stdout replacement that keeps at most ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        if len(text) > room:
            self.truncated = True
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def _apply_limits(config: dict) -> None:
    mb = 1024 * 1024
    settings = [
        (resource.RLIMIT_AS, config.get("memory_mb"), mb),
        (resource.RLIMIT_CPU, config.get("cpu_s"), 1),
        (resource.RLIMIT_FSIZE, config.get("file_size_mb"), mb),
        (resource.RLIMIT_NPROC, config.get("processes"), 1),
        (resource.RLIMIT_CORE, 0, 1),
    ]
    for kind, value, unit in settings:
        if value is None:
            continue
        limit = int(value * unit)
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        try:
            resource.setrlimit(kind, (limit, hard if kind == resource.RLIMIT_CPU else limit))
        except (ValueError, OSError):
            pass  # a limit the platform does not support; the parent's timeout still holds


def _exception_info(error: BaseException) -> dict:
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - a sample's __str__ may raise anything
        message = "<str() raised>"
    if len(message) > 2000:
        message = message[:2000] + "..."
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    return {"type": name, "message": message}


def _bounded_repr(value, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"...<+{len(text) - limit} chars>"


def _round_trips(value, text: str) -> bool:
    """Whether ``text`` (the repr) is a literal that evaluates back to an equal value."""
    try:
        back = ast.literal_eval(text)
        return type(back) is type(value) and bool(back == value)
    except Exception:  # noqa: BLE001 - any failure means "not a literal"
        return False


def _arc_tracer(filename: str, arcs: set):
    """A ``sys.settrace`` function collecting (previous line, line) arcs of ``filename``'s code;
    -1 stands for entering a frame. Coverage of generated inputs, not a recorder."""

    def global_trace(frame, event, arg):  # noqa: ARG001
        if frame.f_code.co_filename != filename:
            return None
        last = [-1]

        def local_trace(frame, event, arg):  # noqa: ARG001
            if event == "line":
                arcs.add((last[0], frame.f_lineno))
                last[0] = frame.f_lineno
            elif event == "return":
                arcs.add((last[0], -frame.f_code.co_firstlineno))
            return local_trace

        return local_trace

    return global_trace


def _on_alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise SandboxTimeout("time limit reached")


class _Runner:
    def __init__(self, config: dict, guard: _Guard) -> None:
        self.config = config
        self.guard = guard
        self.jobs = 0

    def run(self, job: dict) -> dict:
        self.jobs += 1
        timeout_s = float(job.get("timeout_s") or 3.0)
        repr_limit = int(job.get("repr_limit") or self.config.get("repr_limit") or 10000)
        workdir = os.path.join(self.guard.root, f"job{self.jobs}")
        os.mkdir(workdir)
        os.chdir(workdir)
        out = _BoundedText(int(self.config.get("max_output_chars") or 100_000))
        result: dict = {"id": job.get("id"), "ok": False, "value_repr": None, "literal": False,
                        "exception": None, "stdout": "", "timed_out": False, "events": None,
                        "passed": None}
        saved = sys.stdout, sys.stderr, sys.stdin
        random.seed(job.get("seed", 0))
        started = time.perf_counter()
        self.guard.blocked = []
        signal.signal(signal.SIGALRM, _on_alarm)
        try:
            sys.stdout = sys.stderr = out
            sys.stdin = io.StringIO(job.get("stdin") or "")
            signal.setitimer(signal.ITIMER_REAL, timeout_s, 0.05)  # repeats: a caught timeout fires again
            self.guard.active = True
            if job.get("trace"):
                self._run_traced(job, result, timeout_s, repr_limit)
            else:
                self._run_plain(job, result, repr_limit)
        except SandboxTimeout:
            result["timed_out"] = True
            result["exception"] = {"type": "TimeoutError", "message": f"ran longer than {timeout_s} s"}
        except MemoryError as error:
            result["exception"] = _exception_info(error)
        except RecursionError as error:
            result["exception"] = _exception_info(error)
        except BaseException as error:  # noqa: BLE001 - anything the sample raises is a result
            result["exception"] = _exception_info(error)
        finally:
            self.guard.active = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr, sys.stdin = saved
        result["ok"] = result["exception"] is None
        result["stdout"] = out.getvalue()
        result["stdout_truncated"] = out.truncated
        result["blocked"] = list(self.guard.blocked)
        result["duration_s"] = time.perf_counter() - started
        os.chdir(self.guard.root)
        shutil.rmtree(workdir, ignore_errors=True)
        return result

    def _run_plain(self, job: dict, result: dict, repr_limit: int) -> None:
        namespace: dict = {"__name__": job.get("module_name") or "__sandbox__", "__builtins__": __builtins__}
        filename = job.get("filename") or "<sample>"
        exec(compile(job["code"], filename, "exec"), namespace)
        if job.get("coverage"):
            arcs: set = set()
            result["arcs"] = arcs  # filled while the call runs, listed below
            sys.settrace(_arc_tracer(filename, arcs))
        try:
            self._call_and_check(job, result, namespace, repr_limit)
        finally:
            if job.get("coverage"):
                sys.settrace(None)
                result["arcs"] = sorted(result["arcs"])

    def _call_and_check(self, job: dict, result: dict, namespace: dict, repr_limit: int) -> None:
        if job.get("call"):
            value = eval(compile(job["call"], "<call>", "eval"), namespace)
            text = _bounded_repr(value, repr_limit)
            result["value_repr"] = text
            result["literal"] = _round_trips(value, text)
        if job.get("check"):
            exec(compile(job["check"], "<check>", "exec"), namespace)
            result["passed"] = True

    def _run_traced(self, job: dict, result: dict, timeout_s: float, repr_limit: int) -> None:
        from duck.trace.limits import Limits
        from duck.trace.recorder import record_call

        limits = Limits(timeout_s=timeout_s, max_steps=int(job.get("max_steps") or 100_000),
                        repr_limit=int(job.get("event_repr_limit") or 200))
        recording = record_call(job["code"], job.get("call") or "None",
                                filename=job.get("filename") or "<sample>", limits=limits)
        if getattr(recording, "stdout", ""):
            sys.stdout.write(recording.stdout)  # the recorder captured it; report it as stdout
        result["events"] = list(recording.events)
        result["value_repr"] = recording.value
        if recording.exception:
            exc = recording.exception
            if isinstance(exc, dict):
                result["exception"] = {"type": exc.get("type"), "message": exc.get("message", "")}
            else:
                result["exception"] = {"type": str(exc[0]), "message": str(exc[1]) if len(exc) > 1 else ""}
        else:
            # the recorder's value is a bounded display repr; check that it is a literal
            try:
                back = ast.literal_eval(recording.value)
                result["literal"] = _bounded_repr(back, repr_limit) == recording.value
            except Exception:  # noqa: BLE001
                result["literal"] = False


def main() -> None:
    config = json.loads(sys.argv[1])
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.dont_write_bytecode = True
    if config.get("trace_import", True):
        try:  # import the recorder before the guard is on, so tracing costs nothing per job
            import duck.trace.recorder  # noqa: F401
        except ImportError:
            pass
    root = config["root"]
    os.chdir(root)
    _apply_limits(config)
    guard = _Guard(root)
    sys.addaudithook(guard.hook)
    runner = _Runner(config, guard)
    reader = io.BufferedReader(proto_in)  # type: ignore[arg-type]

    def send(message: dict) -> None:
        data = (json.dumps(message, ensure_ascii=True) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(proto_out, view):]

    send({"ready": True, "pid": os.getpid()})
    recycle_cpu = float(config.get("recycle_cpu_s") or 0)
    while True:
        line = reader.readline()
        if not line:
            return
        job = json.loads(line)
        try:
            reply = runner.run(job)
        except BaseException as error:  # noqa: BLE001 - report the worker's own failure
            reply = {"id": job.get("id"), "ok": False, "exception": _exception_info(error),
                     "worker_error": True}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        retiring = bool(recycle_cpu and usage.ru_utime + usage.ru_stime > recycle_cpu)
        reply["retiring"] = retiring
        try:
            send(reply)
        except (TypeError, ValueError):
            reply = {**reply, "events": None, "exception": {"type": "ValueError", "message": "unserialisable result"}, "ok": False}
            send(reply)
        if retiring:
            return  # its CPU budget is nearly spent: the parent starts a fresh worker


if __name__ == "__main__":
    main()
