"""The child interpreter's entry point: ``python -m duck.trace._child CONFIG.json``.

Started by ``duck.trace.runner``. It puts the environment back as the user's (PYTHONPATH,
``sys.path``), applies the memory limit, writes the trace header, compiles and runs the
user's script (or ``-m`` module) as ``__main__`` under the ``Recorder``, streams events to
the trace file in batches, enforces the step and output limits itself, and at the end writes
a small status file (how the program ended, its traceback, what it read from stdin, which
files were recorded) that the parent turns into the outcome line. A SIGTERM from the parent
(timeout, Ctrl-C) flushes what was recorded before the process exits.

It does not write sources or the outcome (the parent does, whatever way this process ends),
and it never imports anything outside the standard library and ``duck.trace``.
"""

from __future__ import annotations

import builtins
import datetime
import json
import linecache
import os
import platform
import signal
import sys
import threading
import types

from duck.trace.limits import Limits
from duck.trace.recorder import CapturedStream, FileFilter, RecordedStdin, Recorder
from duck.trace.binary import MAGIC, ChunkWriter, json_chunk
from duck.trace.store import format_events_bytes

EXIT_LIMIT = 86  # the child's exit status when it stopped itself at a limit (the status file says which)


class _Child:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.limits = Limits.from_dict(config["limits"])
        self.pid = os.getpid()
        self.trace = open(config["trace"], "ab")  # v1: UTF-8, unpaired surrogates backslash-escaped
        self.chunks = ChunkWriter() if config.get("format", 2) == 2 else None  # None: write v1
        self.status_path = config["status"]
        self.output_bytes = 0
        self.finished = False
        include = config["include"]
        self.is_user = FileFilter(include, config["exclude"])
        self.recorder = Recorder(self.is_user, self.limits, sink=self._write_batch, on_limit=self._stop_at_limit)
        self.stdin: RecordedStdin | None = None
        self.writing = False  # inside _write_batch
        self.terminated = False  # a SIGTERM came while writing

    # ------------------------------------------------------------------ writing
    def _write_batch(self, events, frames, outputs) -> None:
        # A SIGTERM while a batch is being written would flush the *next* events from inside this
        # call and lose this batch: it waits until the batch is written (see _on_sigterm).
        self.writing = True
        try:
            if self.chunks is not None:  # one self-delimiting chunk per batch: a killed run keeps the whole ones
                self.trace.write(self.chunks.events_chunk(events, frames, outputs))
            else:
                self.trace.write(format_events_bytes(events, frames, outputs))
            self.trace.flush()
        finally:
            self.writing = False
        if self.terminated:
            self.finish({"end": "terminated"}, EXIT_LIMIT)

    def write_header(self) -> None:
        c = self.config
        header = {
            "format": "duck-trace", "version": 1, "python": platform.python_version(),
            "implementation": sys.implementation.name, "argv": [c["argv0"], *c["argv"]],
            "script": c["script"], "module": c["module"], "cwd": os.getcwd(), "include": c["include"],
            "exclude": c["exclude"], "tracer": self.recorder.tracer, "limits": self.limits.to_dict(),
            "seed": c["seed"], "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.chunks is not None:
            self.trace.write(MAGIC + json_chunk(b"HEAD", {**header, "version": 2}))
        else:
            self.trace.write((json.dumps(header, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace"))
        self.trace.flush()

    def finish(self, status: dict, exit_code: int, *, wait_for_threads: bool = False) -> None:
        """Flush everything recorded, write the status file, and leave the process at once.

        With ``wait_for_threads`` the program's non-daemon threads are joined after the status
        is written (as the interpreter would), so a thread that never ends cannot lose the trace.
        """
        if os.getpid() != self.pid or self.finished:
            os._exit(exit_code)
        self.finished = True
        self.recorder.stop()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        try:
            self.recorder.flush(final=True)
            self.trace.close()
        except Exception:  # noqa: BLE001 - a full disk: the parent reports what is there
            pass
        status.setdefault("exit_code", exit_code)
        status["steps"] = self.recorder.steps
        status["stdin"] = "".join(self.stdin.consumed) if self.stdin is not None else ""
        status["files"] = list(self.recorder.files)
        tmp = self.status_path + ".tmp"
        with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
            json.dump(status, f, ensure_ascii=False)
        os.replace(tmp, self.status_path)
        if wait_for_threads:
            self._join_threads()
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(exit_code)

    # ------------------------------------------------------------------ limits
    def _stop_at_limit(self, which: str) -> None:
        messages = {
            "max_steps": f"stopped after {self.limits.max_steps:,} recorded steps (--max-steps)",
            "output": f"stopped after the program printed {self.limits.max_output_bytes:,} bytes (--max-output)",
        }
        self.finish({"end": "limit", "limit": which, "message": messages.get(which, which)}, EXIT_LIMIT)

    def _on_write(self, stream: str, text: str) -> None:
        self.output_bytes += len(text)
        over = self.output_bytes - self.limits.max_output_bytes
        if over > 0:
            self.recorder.note_output(stream, text[: max(len(text) - over, 0)])
            self._stop_at_limit("output")
        self.recorder.note_output(stream, text)

    def _on_sigterm(self, signum, frame) -> None:
        if self.writing or _runs_in(frame, type(self.recorder).flush.__code__):
            self.terminated = True  # finished by _write_batch once the batch taken out is written
            return
        self.finish({"end": "terminated"}, EXIT_LIMIT)

    # ------------------------------------------------------------------ running
    def user_traceback(self, exc: BaseException) -> list[dict]:
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if self.is_user(code.co_filename):
                frames.append({"file": code.co_filename, "line": tb.tb_lineno,
                               "func": getattr(code, "co_qualname", code.co_name),
                               "text": linecache.getline(code.co_filename, tb.tb_lineno).strip()})
            tb = tb.tb_next
        return frames

    def run(self) -> None:
        c = self.config
        self.write_header()
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, self._on_sigterm)
        real_exit = os._exit

        def _exit(code: int) -> None:  # os._exit skips every finally: flush first
            if os.getpid() == self.pid and not self.finished:
                end = "finished" if code == 0 else "exited"
                self.finish({"end": end, "message": f"the program called os._exit({code})"}, code)
            real_exit(code)

        os._exit = _exit
        os.register_at_fork(after_in_child=self.recorder.forget_after_fork)
        code = None
        if not c["module"]:
            try:
                with open(c["script"], "rb") as f:
                    source = f.read()
                code = compile(source, c["script"], "exec", dont_inherit=True)
            except SyntaxError as exc:
                self.finish({"end": "failed_to_start", "message": f"syntax error: {exc.msg}",
                             "exception": {"type": type(exc).__name__, "message": exc.msg, "traceback": [
                                 {"file": exc.filename or c["script"], "line": exc.lineno, "column": exc.offset,
                                  "end_line": exc.end_lineno, "end_column": exc.end_offset,
                                  "func": "<module>", "text": (exc.text or "").rstrip("\n")}]}}, 2)
            except (OSError, ValueError) as exc:
                self.finish({"end": "failed_to_start", "message": f"cannot read {c['script']}: {exc}"}, 2)
        echo = c["echo"]
        sys.stdout = CapturedStream("stdout", sys.stdout, self._on_write, passthrough=echo)
        sys.stderr = CapturedStream("stderr", sys.stderr, self._on_write, passthrough=echo)
        self.stdin = RecordedStdin(sys.stdin, self.recorder.note_output)
        sys.stdin = self.stdin
        sys.argv = [c["argv0"], *c["argv"]]
        import random

        random.seed(c["seed"])
        status: dict = {"end": "finished"}
        exit_code = 0
        try:
            if c["module"]:
                import runpy

                self.recorder.start()
                runpy.run_module(c["module"], run_name="__main__", alter_sys=True)
            else:
                main = types.ModuleType("__main__")
                main.__dict__.update({"__file__": c["script"], "__builtins__": builtins, "__cached__": None})
                sys.modules["__main__"] = main
                self.recorder.start()
                exec(code, main.__dict__)
        except SystemExit as exc:
            exit_code = _exit_status(exc.code)
            if exit_code != 0:
                status = {"end": "exited", "message": f"the program called sys.exit({exc.code!r})"}
        except MemoryError as exc:
            self.recorder.stop()
            status = {"end": "limit", "limit": "memory", "message":
                      f"the program ran out of memory (limit {self.limits.max_memory_mb} MB, --max-memory)",
                      "exception": {"type": "MemoryError", "message": str(exc), "traceback": self.user_traceback(exc)}}
            exit_code = 1
        except BaseException as exc:  # noqa: BLE001 - the program's own uncaught exception
            self.recorder.stop()
            from duck.trace.recorder import exception_summary

            name, message = exception_summary(exc, 1000)
            status = {"end": "exception", "exception": {"type": name, "message": message,
                                                        "traceback": self.user_traceback(exc)}}
            exit_code = 1
            import traceback

            tb = exc.__traceback__
            while tb is not None and not self.is_user(tb.tb_frame.f_code.co_filename):
                tb = tb.tb_next  # the program's frames only, as if Python had run it
            try:
                traceback.print_exception(type(exc), exc, tb)
            except Exception:  # noqa: BLE001
                pass
        finally:
            self.recorder.stop()
        import atexit

        try:
            atexit._run_exitfuncs()  # the program's exit handlers run as they would under python (unrecorded)
        except BaseException:  # noqa: BLE001 - python prints and ignores their errors too
            pass
        self.finish(status, exit_code, wait_for_threads=True)

    def _join_threads(self) -> None:
        """Wait for the program's non-daemon threads like the interpreter would (the parent's timeout still applies)."""
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                try:
                    thread.join()
                except Exception:  # noqa: BLE001
                    pass


def _runs_in(frame, code) -> bool:
    """Whether ``code`` is running in ``frame`` or one of its callers."""
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _restore_environment(config: dict) -> None:
    """Undo what the parent did to start this module, so the program sees its own environment."""
    if config["pythonpath"] is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = config["pythonpath"]
    root = config["root"]
    for i, entry in enumerate(sys.path[1:], start=1):
        if entry == root:
            del sys.path[i]
            break
    if config["module"]:
        sys.path[0] = os.getcwd()
    else:
        sys.path[0] = os.path.dirname(os.path.abspath(config["script"]))
    memory = config["limits"].get("max_memory_mb") or 0
    if memory > 0:
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            want = memory * 1024 * 1024
            if hard == resource.RLIM_INFINITY or want < hard:
                resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        except (ImportError, ValueError, OSError):
            pass


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    _restore_environment(config)
    _Child(config).run()


if __name__ == "__main__":
    main()
