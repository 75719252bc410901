"""The untraced run of a candidate program: ``python .../duck/repair/_launch.py CONFIG.json``.

Exec'd by ``duck.repair.verify.CandidateRunner.run_quick`` in the sandbox
(``duck.sandbox``: the limits, the confinement and the killing are the sandbox's), in a
private copy of the program's folder. It gives the program what the recording child gives it
(``sys.argv``, ``sys.path[0]``, ``random.seed``; the parent sets ``PYTHONHASHSEED``, the
working directory and stdin), runs the script or ``-m`` module as ``__main__`` with no
tracer at all, and writes a small status file saying how the program ended (finished, an
exception with its type and message, or ``sys.exit``) and where it tried to write outside
its copy (``duck/trace/writewatch.py``, loaded by path). Output goes to the files the
parent gave as stdout and stderr.

With ``"probe"`` in the config it instead loads several versions of the program as modules
(``__name__`` is not ``"__main__"``, so a main block does not run) and calls their functions
on the same literal arguments, writing each call's result (or exception type) to a JSON
file: ``duck.repair.probe`` compares a fix with the buggy program that way.

It is started by path (not ``-m``), so it imports nothing but the standard library and
never sees duck's own packages; it does not record steps (``duck.trace._child`` does).
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import types


def _watch_writes(config: dict) -> list[str] | None:
    """Install the write watcher (``duck/trace/writewatch.py``, by path: duck's packages stay unseen)."""
    if not config.get("watch_writes"):
        return None
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "trace", "writewatch.py")
    spec = importlib.util.spec_from_file_location("_duck_writewatch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.watch_writes(config["watch_writes"])


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


def _write_status(path: str, status: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
        json.dump(status, f)
    os.replace(tmp, path)


class _Overtime(BaseException):
    """Raised by the alarm when one probed call (or loading one version) takes too long."""


def _alarm(signum, frame):
    raise _Overtime()


def _probe(config: dict, watched: list[str] | None) -> None:
    """Call the probed functions of every version; results go to ``config["result"]``."""
    import ast
    import random
    import signal

    sys.path[0] = os.getcwd()
    signal.signal(signal.SIGALRM, _alarm)
    per_call = float(config["per_call_s"])
    results = []
    for source in config["sources"]:
        namespace = {"__name__": "__duck_probe__", "__builtins__": builtins}
        answers = []
        try:
            signal.setitimer(signal.ITIMER_REAL, per_call * 5)
            exec(compile(source, config["script"], "exec", dont_inherit=True), namespace)
        except BaseException:  # noqa: BLE001 - a program that fails at module level keeps what it defined
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for name, kwargs in config["calls"]:
            function = namespace.get(name)
            if not callable(function):
                answers.append("? missing")
                continue
            try:
                arguments = {key: ast.literal_eval(value) for key, value in kwargs.items()}
                random.seed(config["seed"])
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
    _write_status(config["result"], {"results": results, "writes_outside": list(watched or ())})


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    watched = _watch_writes(config)
    if config.get("probe"):
        _probe(config, watched)
        os._exit(0)  # threads a probed call started are not waited for
    script, module = config["script"], config["module"]
    sys.path[0] = os.getcwd() if module else os.path.dirname(os.path.abspath(script))
    sys.argv = [config["argv0"], *config["argv"]]
    real_exit = os._exit

    def _exit(code: int) -> None:  # os._exit skips the flush of what the program printed
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        real_exit(code)

    os._exit = _exit
    import random

    random.seed(config["seed"])
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
            status = {"end": "exited", "message": f"the program called sys.exit({exc.code!r})"}
    except BaseException as exc:  # noqa: BLE001 - the program's own uncaught exception
        try:
            message = str(exc)[:1000]
        except Exception:  # noqa: BLE001 - a __str__ that raises
            message = "<unprintable message>"
        status = {"end": "exception", "exception": {"type": type(exc).__name__, "message": message,
                                                    "traceback": []}}
        exit_code = 1
        import traceback

        try:
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        except Exception:  # noqa: BLE001
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    status["exit_code"] = exit_code
    if watched:
        status["writes_outside"] = list(watched)
    _write_status(config["status"], status)
    # leave like python would: non-daemon threads are joined and atexit handlers run
    raise SystemExit(exit_code)


if __name__ == "__main__":
    main()
