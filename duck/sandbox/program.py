"""Job functions that run a whole program untraced in a sandbox child, as ``python PROGRAM`` would.

``run_main(payload)`` is called by the fork server (``Sandbox.call("duck.sandbox.program:run_main",
...)``) in a freshly forked, already confined child: it gives the program what a fresh
interpreter would (the environment, ``sys.argv``, ``sys.path`` with the program's folder first,
new ``sys.stdin``/``stdout``/``stderr`` on the files the payload names, the default signal
handlers, ``random.seed``; the server's ``PYTHONHASHSEED`` is the run's), runs the script or
``-m`` module as ``__main__`` with no tracer, then joins non-daemon threads and runs ``atexit``
handlers like an interpreter's exit, and returns how the program ended (finished, an exception
with its type and message, or ``sys.exit``) and where it tried to write outside its folder
(``duck.trace.writewatch``). A fork costs milliseconds where an interpreter start costs tens
to hundreds: this is how ``duck fix`` screens candidates (``duck.repair.verify``).

``probe(payload)`` instead loads several versions of a program as modules (``__name__`` is not
``"__main__"``, so a main block does not run) and calls their functions on the same literal
arguments, returning each call's result (or exception type): ``duck.repair.probe`` compares a
fix with the buggy program that way.

``record_main(payload)`` records the program in such a forked child instead of a fresh
interpreter: the same preparation, then ``duck.trace.child`` (which the server preloads)
runs it under the recorder exactly as the child interpreter that ``duck.trace.runner`` execs
would, writing the trace and the status file. ``duck fix`` records its buggy run and its
candidates that way (``duck.trace.runner.record(..., fork=True)``), saving an interpreter
start and the recorder's imports per recording.

``run_main`` and ``probe`` return data; verdicts are made by the caller. Standard library only
(plus the write watcher, the recorder for ``record_main``, imported there, and the light
``duck.trace.spelling`` for the one wording both share), so a server
that preloads only this module stays small; it records no steps itself (``duck.trace.child``
does).
"""

from __future__ import annotations

import atexit
import builtins
import io
import os
import signal
import sys
import types

from duck.trace.spelling import exit_message

#: frames between the fork server's entry and the program's code, which a fresh ``python
#: PROGRAM`` does not have: the recursion limit is raised by as many, so a deep recursion
#: that fits in python fits here (screening may be looser than a real run, never stricter)
_SERVER_FRAMES = 16


def _stream(fd: int, mode: str, encoding: str, errors: str, line_buffering: bool = False):
    return io.TextIOWrapper(io.FileIO(fd, mode, closefd=False) if mode == "r" else
                            io.BufferedWriter(io.FileIO(fd, mode, closefd=False)),
                            encoding=encoding, errors=errors, line_buffering=line_buffering)


def _enter(payload: dict, program_folder: str, *, frames: int = _SERVER_FRAMES) -> list[str] | None:
    """Make this forked child look like a fresh interpreter for the program; returns the list
    of outside writes the watcher fills (None: not watched). ``frames``: how much the
    recursion limit is raised (0 where the caller accounts for its frames itself)."""
    server_paths = [p for p in (os.environ.get("PYTHONPATH") or "").split(os.pathsep) if p]
    env = dict(payload.get("env") or {})
    for key in [k for k in os.environ if k not in env]:  # (os.environ.clear() is quadratic)
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    user_paths = [p for p in (env.get("PYTHONPATH") or "").split(os.pathsep) if p]
    rest = [p for p in sys.path[1:] if p not in server_paths and p not in user_paths]
    sys.path[:] = [program_folder, *user_paths, *rest]
    encoding, _, errors = (env.get("PYTHONIOENCODING") or "utf-8").partition(":")
    for fd, key, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                           (2, "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(payload.get(key) or os.devnull, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = sys.__stdin__ = _stream(0, "r", encoding or "utf-8", errors or "strict")
    sys.stdout = sys.__stdout__ = _stream(1, "w", encoding or "utf-8", errors or "strict")
    sys.stderr = sys.__stderr__ = _stream(2, "w", encoding or "utf-8", "backslashreplace", line_buffering=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if frames:
        sys.setrecursionlimit(sys.getrecursionlimit() + frames)
    atexit._clear()
    import random

    random.seed(payload.get("seed"))
    if not payload.get("watch_writes"):
        return None
    from duck.trace.writewatch import watch_writes

    return watch_writes(payload["watch_writes"])


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass


def _exception_status(exc: BaseException) -> dict:
    try:
        message = str(exc)[:1000]
    except Exception:  # noqa: BLE001 - a __str__ that raises
        message = "<unprintable message>"
    return {"end": "exception", "exception": {"type": type(exc).__name__, "message": message, "traceback": []}}


def run_main(payload: dict) -> dict:
    """Run the program as ``__main__`` (see the module docstring); how it ended, as data.

    ``payload``: ``script`` (a path) or ``module`` (``-m``), ``argv0``, ``argv``, ``seed``,
    ``env`` (exactly the program's environment), ``stdin``/``stdout``/``stderr`` (files),
    ``watch_writes`` (folders a write may go to without being noted). A program that ends with
    ``os._exit`` returns nothing: the run's exit status says how it ended.
    """
    script, module = payload.get("script"), payload.get("module")
    watched = _enter(payload, os.getcwd() if module else os.path.dirname(os.path.abspath(script)))
    sys.argv = [payload.get("argv0") or script or module, *payload.get("argv", ())]
    real_exit = os._exit

    def _exit(code: int) -> None:  # os._exit skips the flush of what the program printed
        _flush()
        real_exit(code)

    os._exit = _exit
    status: dict = {"end": "finished"}
    exit_code = 0
    try:
        if module:
            import runpy

            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            with open(script, "rb") as f:
                code = compile(f.read(), script, "exec", dont_inherit=True)
            main_module = types.ModuleType("__main__")
            main_module.__dict__.update({"__file__": script, "__builtins__": builtins, "__cached__": None})
            sys.modules["__main__"] = main_module
            exec(code, main_module.__dict__)
    except SystemExit as exc:
        exit_code = _exit_status(exc.code)
        if exit_code != 0:
            status = {"end": "exited", "message": exit_message(exc.code)}
    except BaseException as exc:  # noqa: BLE001 - the program's own uncaught exception
        status = _exception_status(exc)
        exit_code = 1
        import traceback

        try:
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        except Exception:  # noqa: BLE001
            pass
    # leave like python would: non-daemon threads are joined and atexit handlers run
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - an exit handler's failure is printed by atexit itself
        pass
    _flush()
    status["exit_code"] = exit_code
    status["writes_outside"] = list(watched or ())
    return status


def record_main(payload: dict) -> None:
    """Record the program as ``python duck/trace/_child.py CONFIG`` would, in this forked child.

    ``payload``: ``config`` (the path of the child's config file, written by
    ``duck.trace.runner``), ``env`` (exactly the program's environment) and
    ``stdin``/``stdout``/``stderr`` (files). The child is given what a fresh interpreter
    would (see ``_enter``; the recorder raises the recursion limit by the frames below the
    program itself, wherever it starts), then ``duck.trace.child`` runs the program under
    the recorder, writes the trace and the status file, and ends the process: nothing is
    returned, the runner reads the status file as it does for an exec'd child. Every
    descriptor but 0, 1 and 2 is closed first, as after an exec.
    """
    from duck.trace import child as _child

    config = _child.read_config(payload["config"])
    folder = os.getcwd() if config["module"] else os.path.dirname(os.path.abspath(config["script"]))
    _enter({**{key: payload.get(key) for key in ("env", "stdin", "stdout", "stderr")}, "seed": config.get("seed")},
           folder, frames=0)
    os.closerange(3, _max_fd())
    _child.hide_recursion_levels(_entries_below())
    _child._limit_memory(config)
    _child._Child(config).run()
    os._exit(70)  # not reached: the child ends the process itself


def _entries_below() -> int:
    """How many levels of the recursion limit the stack below this frame takes beyond its
    Python frames: 3.11 counts each entry of the eval loop from C after the first (the
    server's module, run by ``-m``, is one), 3.12+ counts none. The recorder's child raises
    the limit by the Python frames below the program only, which is exact in a fresh
    interpreter (none there)."""
    frames = 0
    frame = sys._getframe()
    while frame is not None:
        frames += 1
        frame = frame.f_back

    def down(depth: int) -> int:
        try:
            return down(depth + 1)
        except RecursionError:
            return depth

    return max(0, sys.getrecursionlimit() - down(1) - frames)


def _max_fd() -> int:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if 0 < soft < 1 << 20 else 1 << 16


class _Overtime(BaseException):
    """Raised by the alarm when one probed call (or loading one version) takes too long."""


def _alarm(signum, frame):
    raise _Overtime()


def probe(payload: dict) -> dict:
    """Call the probed functions of every version of the program on literal arguments.

    ``payload``: ``script`` (the program's path, its name in tracebacks), ``sources`` (the
    versions), ``calls`` (``[function, {parameter: literal repr}]``), ``per_call_s``, ``seed``,
    ``env``, ``watch_writes``. Returns ``{"results": [[answer per call] per source],
    "writes_outside": [...]}`` where an answer is ``"= repr"``, ``"! ExceptionType"``,
    ``"! timeout"`` or ``"? missing"``.
    """
    import ast
    import random

    watched = _enter(payload, os.path.dirname(os.path.abspath(payload["script"])))
    signal.signal(signal.SIGALRM, _alarm)
    per_call = float(payload["per_call_s"])
    results = []
    for source in payload["sources"]:
        namespace = {"__name__": "__duck_probe__", "__builtins__": builtins}
        answers = []
        try:
            signal.setitimer(signal.ITIMER_REAL, per_call * 5)
            exec(compile(source, payload["script"], "exec", dont_inherit=True), namespace)
        except BaseException:  # noqa: BLE001 - a program that fails at module level keeps what it defined
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for name, kwargs in payload["calls"]:
            function = namespace.get(name)
            if not callable(function):
                answers.append("? missing")
                continue
            try:
                arguments = {key: ast.literal_eval(value) for key, value in kwargs.items()}
                random.seed(payload.get("seed"))
                signal.setitimer(signal.ITIMER_REAL, per_call)
                try:
                    value = function(**arguments)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                answers.append("= " + repr(value)[:2000])
            except _Overtime:
                answers.append("! timeout")
            except BaseException as exc:  # noqa: BLE001
                answers.append("! " + type(exc).__name__)
        results.append(answers)
    _flush()
    return {"results": results, "writes_outside": list(watched or ())}
