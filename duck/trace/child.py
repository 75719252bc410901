"""The recording child: what ``python .../duck/trace/_child.py CONFIG`` runs (``main``).

Started by ``duck.trace.runner``, through the small ``_child.py`` (an interpreter compiles the
file it is started with on every run; this module's bytecode is cached like any other's),
with the user's environment untouched. It
gives the program the ``sys.path`` that ``python prog.py`` would (see ``_own_sys_path``),
applies the memory limit, writes the trace header, compiles and runs the
user's script (or ``-m`` module) as ``__main__`` under the ``Recorder``, streams events to
the trace file in batches, enforces the step and output limits itself, and at the end writes
a small status file (``marshal``, as the config is: how the program ended, its traceback, what it read from stdin, which
files were recorded) that the parent turns into the outcome line. A SIGTERM from the parent
(timeout, Ctrl-C) flushes what was recorded before the process exits.

The program must not notice duck: its exit status, output and end are Python's. So the child
wraps the few process-level calls whose effect it must see (``os._exit``, ``os.exec*``,
``os.write`` to fd 1/2, waits for child processes where fd 1/2 are files (``fd_output``),
``signal.signal`` for SIGTERM, ``sys.settrace``, the recursion limit),
keeps the real builtins for its own code (``duck.trace.pristine``), and after the main module
does what the interpreter does, in its order: wait for non-daemon threads, run atexit
handlers, flush stdout (status 120 if that fails), clear ``__main__`` (``__del__`` runs), and
end by SIGINT after an uncaught KeyboardInterrupt.

It does not write sources or the outcome (the parent does, whatever way this process ends),
and it never imports anything outside the standard library and ``duck.trace``. Its start-up is
every recording's: it imports no ``json``, ``re``, ``enum``, ``signal``, ``threading`` or ``ctypes``
(their C halves, or the C core's, instead), and ``traceback``/``linecache`` only where a traceback
is formatted (``_late_import``). What it did import that the program's own folder holds a file
for is hidden from the program (``hide_duck_imports``): ``import json`` finds its ``json.py``.
"""

from __future__ import annotations

import _signal
import atexit
import builtins
import gc
import marshal
import os
import sys
from _thread import get_ident
import time
import types
from _frozen_importlib_external import PathFinder as _PathFinder  # the import system's own (loaded at start-up)
from _struct import calcsize

from duck.trace.pristine import BUILTINS as __builtins__  # noqa: F401 - duck's code keeps the real len, open, print
from duck.trace import pristine
from duck.trace.spelling import exit_message, json_text, spelled_out
from duck.trace.limits import Limits
from duck.trace.recorder import (_DUCK_DIR, CapturedStream, FileFilter, OutputTap, RecordedStdin,
                                 Recorder, exception_summary)
from duck.trace.store import format_events_bytes
from duck.trace.localdiff import RECORDING_PATH
from duck.trace.saferepr import main_thread_ident
from duck.trace.chunks import MAGIC, ChunkWriter, json_chunk  # the light writer (no dataclasses, mmap)
from duck.trace.fd_output import FdOutput

EXIT_LIMIT = 86  # the child's exit status when it stopped itself at a limit (the status file says which)
MAX_TRACEBACK_FRAMES = 200  # frames kept in the outcome's traceback (the first and last half), after folding repeats


class _Child:
    def __init__(self, config: dict, fresh: frozenset | None = None) -> None:
        self.config = config
        self.fresh = fresh  # the modules of a fresh interpreter (None: not known, nothing is hidden)
        self.limits = Limits.from_dict(config["limits"])
        self.pid = os.getpid()
        self.trace = open(config["trace"], "ab")  # v1: UTF-8, unpaired surrogates backslash-escaped
        self.chunks = ChunkWriter() if config.get("format", 2) == 2 else None  # None: write v1
        self.status_path = config["status"]
        self.stop_path = config.get("stop")  # the parent creates it before it SIGTERMs us to stop the run
        self.output_bytes = 0
        self.finished = False
        include = config["include"]
        self.is_user = FileFilter(include, config["exclude"], config.get("implicit_exclude"))  # None: its own
        self.recorder = Recorder(self.is_user, self.limits, sink=self._write_batch, on_limit=self._stop_at_limit)
        self.stdin: RecordedStdin | None = None
        self.writes_outside: list[str] | None = None  # confined runs: writes tried outside (duck.trace.writewatch)
        self.taps: dict[int, OutputTap] = {}  # fd 1 and 2: bytes written beneath sys.stdout/sys.stderr
        files = config.get("output_files")  # fd 1/2 are these files (no echo): read back what reached them
        self.fd_output = FdOutput({1: files[0], 2: files[1]}, self.taps, self.pid) if files else None
        self.program_sigterm = _signal.SIG_DFL  # what the program asked SIGTERM to do (duck's handler stays)
        self.hook_taken: dict | None = None  # the program replaced duck's trace hook: at which step, how
        self.waiting_for: list[str] = []  # names of the non-daemon threads the end is waiting for
        self.flushing = False  # a batch is between the recorder and the file: a SIGTERM waits for it
        self.deferred_sigterm: tuple | None = None
        real_flush = self.recorder.flush

        def flush(final: bool = True) -> None:
            self.flushing = True
            try:
                real_flush(final)
            finally:
                self.flushing = False
            if self.deferred_sigterm is not None:
                signum, frame = self.deferred_sigterm
                self.deferred_sigterm = None
                self._on_sigterm(signum, frame)

        self.recorder.flush = flush

    # ------------------------------------------------------------------ writing
    def _write_batch(self, events, frames, outputs) -> None:
        """Append one batch: a self-delimiting v2 chunk (a killed run keeps the whole ones) or v1 lines.

        A SIGTERM meanwhile waits for the batch (``flushing``, see ``_on_sigterm``)."""
        if self.chunks is not None:
            self.trace.write(self.chunks.events_chunk(events, frames, outputs))
        else:
            self.trace.write(format_events_bytes(events, frames, outputs))
        self.trace.flush()

    def write_header(self) -> None:
        c = self.config
        header = {
            "format": "duck-trace", "version": 1, "python": sys.version.split()[0],  # platform.python_version(), without importing platform
            "implementation": sys.implementation.name, "argv": [c["argv0"], *c["argv"]],
            "script": c["script"], "module": c["module"], "cwd": os.getcwd(), "include": c["include"],
            "exclude": c["exclude"], "tracer": self.recorder.tracer, "recorder": RECORDING_PATH,
            "limits": self.limits.to_dict(),
            "seed": c["seed"], "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),  # not datetime: start-up
        }
        if self.chunks is not None:
            self.trace.write(MAGIC + json_chunk(b"HEAD", {**spelled_out(header), "version": 2}))
        else:
            self.trace.write((json_text(spelled_out(header), compact=False) + "\n").encode("utf-8"))
        self.trace.flush()

    def write_status(self, status: dict) -> None:
        """Replace the status file at once (the parent reads whichever was written last)."""
        status["steps"] = self.recorder.steps
        status["stdin"] = "".join(self.stdin.consumed) if self.stdin is not None else ""
        status["files"] = list(self.recorder.files)
        if self.writes_outside:
            status["writes_outside"] = list(self.writes_outside)
        if self.hook_taken:
            status["recording_stopped"] = dict(self.hook_taken)
        tmp = self.status_path + ".tmp"
        try:
            data = marshal.dumps(status, 4)
        except ValueError:  # a str or int subclass the program made (a thread's name): as plain values
            data = marshal.dumps(_plain(status), 4)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.status_path)

    def finish(self, status: dict, exit_code: int, *, die_by: int | None = None) -> None:
        """Flush everything recorded, write the status file, and leave the process at once.

        ``die_by``: end by that signal (SIG_DFL) once the status is written, as Python itself
        does after an uncaught KeyboardInterrupt (SIGINT), so the exit status is Python's.
        """
        if os.getpid() != self.pid or self.finished:
            os._exit(exit_code)
        # A limit can stop the run at the program's deepest recursion: room for duck's own calls.
        _REAL_SETRECURSIONLIMIT(_REAL_GETRECURSIONLIMIT() + 200)
        with pristine.restored():
            if self.fd_output is not None:
                try:
                    self.fd_output.collect()  # the last of a subprocess's or C code's output
                except BaseException:  # noqa: BLE001 - the output limit, reached by that output: it ends here anyway
                    pass
            self.finished = True
            self.recorder.stop()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 - reported by _flush_at_exit where Python reports it
                    pass
            try:
                self.recorder.flush(final=True)
                self.trace.close()
            except Exception:  # noqa: BLE001 - a full disk: the parent reports what is there
                pass
            status.setdefault("exit_code", exit_code if die_by is None else -die_by)
            self.write_status(status)
            for stream in (sys.__stdout__, sys.__stderr__):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            if die_by is not None:
                _signal.signal(die_by, _signal.SIG_DFL)
                os.kill(os.getpid(), die_by)
        _REAL_EXIT(exit_code)

    # ------------------------------------------------------------------ limits
    def _stop_at_limit(self, which: str) -> None:
        messages = {
            "max_steps": f"stopped after {self.limits.max_steps:,} recorded steps (--max-steps)",
            "output": f"stopped after the program printed {self.limits.max_output_bytes:,} bytes (--max-output)",
        }
        self.finish({"end": "limit", "limit": which, "message": messages.get(which, which)}, EXIT_LIMIT)

    def _on_write(self, stream: str, text: str) -> None:
        if os.getpid() != self.pid:
            return
        self.output_bytes += len(text)
        over = self.output_bytes - self.limits.max_output_bytes
        if over > 0:
            self.recorder.note_output(stream, text[: max(len(text) - over, 0)])
            self._stop_at_limit("output")
        self.recorder.note_output(stream, text)

    def _on_sigterm(self, signum, frame) -> None:
        """Duck's SIGTERM handler, which stays installed whatever the program asks for.

        When the parent stops the run (it creates ``stop_path`` first), the trace is finished
        even if the program ignores SIGTERM. Otherwise the signal is the program's business
        and is handled as the program asked: ignored, its own handler, or death by SIGTERM.
        """
        if self.finished:
            return
        if self.flushing:  # the batch being written would be lost: finish right after it
            self.deferred_sigterm = (signum, frame)
            return
        requested = bool(self.stop_path) and os.path.exists(self.stop_path)
        handler = self.program_sigterm
        if requested or handler == _signal.SIG_DFL:
            if not requested:
                self.finish({"end": "exited", "message": "the program was killed by SIGTERM"}, 1,
                            die_by=_signal.SIGTERM)
            status = {"end": "terminated"}
            if self.waiting_for:
                status["threads"] = list(self.waiting_for)
            self.finish(status, EXIT_LIMIT)
        elif callable(handler):
            handler(signum, frame)

    # ------------------------------------------------------------------ the program's view of the process
    def _install_process_hooks(self) -> None:
        """Wrap the few process-level calls whose effect duck must see: exits, execs, raw writes, signals, tracing."""
        child = self

        def _exit(code: int) -> None:  # os._exit skips every finally: flush first
            if os.getpid() == child.pid and not child.finished:
                end = "finished" if code == 0 else "exited"
                child.finish({"end": end, "message": f"the program called os._exit({code})"}, code)
            _REAL_EXIT(code)

        os._exit = _exit

        def before_exec(name: str, path) -> None:
            """Flush the trace and say how it ends: the exec'd program's own exit status is the run's."""
            if os.getpid() != child.pid or child.finished:
                return
            with pristine.restored():
                try:
                    for stream in (sys.stdout, sys.stderr):
                        stream.flush()
                except Exception:  # noqa: BLE001 - as Python, which does not flush them at all
                    pass
                child.recorder.flush(final=True)
                shown = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else repr(path)
                child.write_status({"end": "exec", "message": f"the program replaced itself with {shown} "
                                                              f"(os.{name}); the recording ends there"})

        for name in ("execv", "execve"):  # os.execl*, execvp* and execlp* all end in one of these two
            real = getattr(os, name, None)
            if real is None:
                continue

            def exec_(path, *args, _real=real, _name=name):
                before_exec(_name, path)
                return _real(path, *args)

            exec_.__name__ = exec_.__qualname__ = name
            setattr(os, name, exec_)

        real_write = os.write
        fd_output = self.fd_output

        def write(fd, data):
            tap = child.taps.get(fd)
            if tap is not None and os.getpid() == child.pid:
                if fd_output is not None:
                    fd_output.collect()  # what a subprocess wrote before comes first
                tap(data)
            written = real_write(fd, data)
            if fd_output is not None and tap is not None:
                fd_output.wrote(fd, written)
            return written

        os.write = write

        if fd_output is not None:
            # A subprocess's (or C code's) output reaches the files behind fd 1/2 unseen: read back
            # when a wait for a child process returns (subprocess waits with os.waitpid).
            for name in ("system", "waitpid", "wait", "wait3", "wait4", "waitid"):
                real = getattr(os, name, None)
                if real is None:
                    continue

                def waited(*args, _real=real, **kwargs):
                    try:
                        return _real(*args, **kwargs)
                    finally:
                        fd_output.collect()

                waited.__name__ = waited.__qualname__ = name
                waited.__doc__ = real.__doc__
                setattr(os, name, waited)

        # The program's frames sit on duck's few (this method's callers, runpy's for -m) and the
        # recorder's callback runs on top of them: the recursion limit counts them all, so it is
        # raised by as many and the program sees its own (a RecursionError at Python's depth).
        hide_recursion_levels(_frames_below(sys._getframe(1)) + 1 + (1 if self.config["module"] else 0))

        if hasattr(_signal, "SIGTERM"):
            # Wrapped in _signal, the C module: signal.signal and signal.getsignal call these (with
            # plain ints, and turn what they return into signal's enums), whenever the program
            # imports signal; duck itself does not import it (its enum cost the child's start-up).
            real_signal, real_getsignal = _signal.signal, _signal.getsignal
            real_signal(_signal.SIGTERM, self._on_sigterm)

            def signal_(signalnum, handler):
                if signalnum != _signal.SIGTERM or not _on_main_thread():
                    return real_signal(signalnum, handler)
                if not (handler in (_signal.SIG_IGN, _signal.SIG_DFL) or callable(handler)):
                    raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object")
                previous, child.program_sigterm = child.program_sigterm, handler
                return previous

            def getsignal(signalnum):
                return child.program_sigterm if signalnum == _signal.SIGTERM else real_getsignal(signalnum)

            for wrapper, real in ((signal_, real_signal), (getsignal, real_getsignal)):
                wrapper.__name__, wrapper.__qualname__ = real.__name__, real.__qualname__
                wrapper.__module__, wrapper.__doc__ = real.__module__, real.__doc__
            _signal.signal, _signal.getsignal = signal_, getsignal

        recorder = self.recorder
        if recorder.tracer == "settrace":
            real_settrace = sys.settrace

            def settrace(function):
                if (recorder._active and child.hook_taken is None and _on_main_thread()
                        and function not in (recorder._global_trace, recorder._local_trace)):
                    child.hook_taken = {"step": recorder.steps, "by": "sys.settrace()"}
                return real_settrace(function)

            sys.settrace = settrace

    def _note_hook_taken(self) -> None:
        """Whether the program took duck's hook away (sys.settrace, or sys.monitoring's tool) before it ended."""
        recorder = self.recorder
        if self.hook_taken is not None or not recorder._active:
            return
        if recorder.tracer == "monitoring" and recorder._tool is not None:
            mon = sys.monitoring
            if mon.get_tool(recorder._tool) != "duck" or not mon.get_events(recorder._tool):
                self.hook_taken = {"step": None, "by": f"sys.monitoring (tool {recorder._tool})"}
        elif recorder.tracer == "settrace" and sys.gettrace() is None:
            # no sys.settrace() call took it (that is noted with its step): Python switched the hook off
            # because it failed, as a Python hook does where it has no frame left to run in (the
            # pure-Python recorder at the recursion limit)
            self.hook_taken = {"step": None, "by": None}
        elif recorder.tracer == "settrace" and sys.gettrace() not in (recorder._global_trace, recorder._local_trace):
            self.hook_taken = {"step": None, "by": "sys.settrace()"}

    # ------------------------------------------------------------------ running
    def user_traceback(self, exc: BaseException) -> dict:
        """The traceback of the user's frames: repeats folded as Python folds them, at most MAX_TRACEBACK_FRAMES kept."""
        frames: list[dict] = []
        run = 0
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if self.is_user(code.co_filename):
                frame = {"file": code.co_filename, "line": tb.tb_lineno,
                         "func": getattr(code, "co_qualname", code.co_name)}
                last = frames[-1] if frames else None
                same = last is not None and all(last[k] == frame[k] for k in ("file", "line", "func"))
                run = run + 1 if same else 1
                if run > 3:  # "[Previous line repeated N more times]"
                    last["repeated"] = last.get("repeated", 0) + 1
                else:
                    frame["text"] = _late_import("linecache").getline(code.co_filename, tb.tb_lineno).strip()
                    frames.append(frame)
            tb = tb.tb_next
        summary = {"traceback": frames}
        if len(frames) > MAX_TRACEBACK_FRAMES:
            half = MAX_TRACEBACK_FRAMES // 2
            summary = {"traceback": frames[:half] + frames[-half:],
                       "omitted": {"index": half, "frames": len(frames) - 2 * half}}
        return summary

    def print_exception(self, exc: BaseException) -> None:
        """Print the uncaught exception as Python would: the program's frames only, none of duck's."""
        tb = exc.__traceback__
        while tb is not None and not self.is_user(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next  # the program's frames only, as if Python had run it
        try:
            with pristine.restored():
                limit = getattr(sys, "tracebacklimit", None)
                if limit is None and sys.version_info < (3, 13):
                    limit = 1000  # the interpreter's own printer shows the last 1,000 frames before 3.13
                limit = None if limit is None else -limit if limit > 0 else 0
                traceback = _late_import("traceback")
                report = traceback.TracebackException(type(exc), exc, tb, limit=limit, compact=True)
                _drop_duck_frames(traceback, report, set())
                sys.stderr.write("".join(report.format()))
                sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass

    def run(self) -> None:
        c = self.config
        self.write_header()
        if c.get("watch_writes"):
            from duck.trace.writewatch import watch_writes

            self.writes_outside = watch_writes(c["watch_writes"])
        self._install_process_hooks()
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
        for fd, name, stream in ((1, "stdout", sys.stdout), (2, "stderr", sys.stderr)):
            self.taps[fd] = OutputTap(name, self._on_write, getattr(stream, "encoding", None))
        sys.stdout = CapturedStream("stdout", sys.stdout, self._on_write, passthrough=echo, tap=self.taps[1])
        sys.stderr = CapturedStream("stderr", sys.stderr, self._on_write, passthrough=echo, tap=self.taps[2])
        self.stdin = RecordedStdin(sys.stdin, self.recorder.note_output)
        sys.stdin = self.stdin
        sys.argv = [c["argv0"], *c["argv"]]
        import random

        random.seed(c["seed"])
        ended: BaseException | None = None
        namespace: dict | None = None  # the program's __main__ globals, cleared at the end as Python clears them
        try:
            if c["module"]:
                import runpy

                self._hide_duck_imports()
                self.recorder.start()
                namespace = runpy.run_module(c["module"], run_name="__main__", alter_sys=True)
            else:
                main = types.ModuleType("__main__")
                namespace = main.__dict__
                namespace.update({"__file__": c["script"], "__builtins__": builtins, "__cached__": None})
                sys.modules["__main__"] = main
                self._hide_duck_imports()
                run = _run_as_outermost()
                self.recorder.start()
                run(code, namespace)
        except BaseException as exc:  # noqa: BLE001 - the program's own end: judged below
            ended = exc
            if namespace is None:  # -m: the module's globals are its outermost frame's
                tb = exc.__traceback__
                while tb is not None and (tb.tb_frame.f_globals.get("__name__") != "__main__"
                                          or tb.tb_frame.f_globals is globals()):
                    tb = tb.tb_next
                namespace = tb.tb_frame.f_globals if tb is not None else None
        with pristine.restored():  # the program may have replaced builtins that the stdlib below uses
            self._note_hook_taken()
            self.recorder.stop()
            status, exit_code, die_by = self._judge_end(ended)
        ended = None
        if self.hook_taken is not None and not status.get("message"):
            step = self.hook_taken["step"]
            where = f"at step {step:,}" if step is not None else "before the program ended"
            if self.hook_taken["by"] is None:
                hooks = getattr(self.recorder, "_hooks", None)
                why = ("the pure-Python recorder had no frame left to run in, at the recursion limit"
                       if hooks is not None and hooks.fast is None else "it failed")
                cause = f"Python switched duck's trace hook off ({why})"
            else:
                cause = f"the program called {self.hook_taken['by']}, the hook duck records through"
            status["message"] = f"the recording stopped {where}: {cause}; what ran after it is not in the trace"
        # What Python does after the main module, in its order: wait for non-daemon threads,
        # run atexit handlers, flush sys.stdout/sys.stderr (exit status 120 if that fails),
        # then clear the main module (its objects' __del__ run). None of it is recorded.
        self._wait_for_threads(status, exit_code)
        try:
            atexit._run_exitfuncs()  # the program's exit handlers run as they would under python (unrecorded)
        except BaseException:  # noqa: BLE001 - python prints and ignores their errors too
            pass
        if not _flush_at_exit() and exit_code == 0 and die_by is None:
            exit_code = 120
            status = {"end": "exited", "message": "writing the program's buffered output failed at exit"}
        _clear_main_module(namespace)
        namespace = None
        self.finish(status, exit_code, die_by=die_by)

    def _hide_duck_imports(self) -> None:
        if self.fresh is not None:
            hide_duck_imports([name for name in sys.modules if name not in self.fresh])

    def _judge_end(self, ended: BaseException | None) -> tuple[dict, int, int | None]:
        """(status, exit status, signal to die by) for the way the program's main module ended."""
        if ended is None:
            return {"end": "finished"}, 0, None
        if isinstance(ended, SystemExit):
            exit_code = _exit_status(ended.code)
            if exit_code != 0:
                return {"end": "exited", "message": exit_message(ended.code)}, exit_code, None
            return {"end": "finished"}, 0, None
        if isinstance(ended, MemoryError):
            return {"end": "limit", "limit": "memory", "message":
                    f"the program ran out of memory (limit {self.limits.max_memory_mb} MB, --max-memory)",
                    "exception": {"type": "MemoryError", "message": str(ended), **self.user_traceback(ended)}}, 1, None
        name, message = exception_summary(ended, 1000)
        status = {"end": "exception", "exception": {"type": name, "message": message, **self.user_traceback(ended)}}
        self.print_exception(ended)
        # Python ends a run that an uncaught KeyboardInterrupt stopped by SIGINT (a shell shows 130).
        die_by = _signal.SIGINT if isinstance(ended, KeyboardInterrupt) and hasattr(_signal, "SIGINT") else None
        return status, 1, die_by

    def _wait_for_threads(self, status: dict, exit_code: int) -> None:
        """Wait for the program's non-daemon threads as the interpreter does, with the end already written down.

        The status file says the main module's end and which threads are still running, and the
        trace is flushed, so a thread that never ends (the parent's timeout stops it) cannot
        turn the run into "finished" nor lose the trace.
        """
        threading = sys.modules.get("threading")  # no threads without it (duck itself does not import it)
        try:
            current = threading.current_thread()
            alive = [t for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()]
        except Exception:  # noqa: BLE001 - None, or the program's own threading.py: as Python, no thread to wait for
            return
        if not alive:
            return
        self.waiting_for = [t.name for t in alive]
        with pristine.restored():
            self.recorder.flush(final=False)
            self.write_status({**status, "exit_code": exit_code, "waiting_for_threads": list(self.waiting_for)})
        for thread in alive:
            try:
                thread.join()
            except Exception:  # noqa: BLE001
                pass
        self.waiting_for = []


_REAL_EXIT = os._exit
_MAIN_THREAD = main_thread_ident()


def _on_main_thread() -> bool:
    """``threading.current_thread() is threading.main_thread()``, without importing ``threading`` where the program has not."""
    threading = sys.modules.get("threading")
    try:
        return get_ident() == threading.main_thread().ident
    except Exception:  # noqa: BLE001 - not imported (or the program's own threading.py)
        return get_ident() == _MAIN_THREAD
_REAL_SETRECURSIONLIMIT, _REAL_GETRECURSIONLIMIT = sys.setrecursionlimit, sys.getrecursionlimit


def hide_recursion_levels(extra: int) -> None:
    """Raise the recursion limit by ``extra`` levels the program must not see: ``sys``'s getter and
    setter are wrapped, so the program gets a fresh interpreter's depth and reads (and sets) the limit
    a fresh interpreter has. Wrapping again (a forked child, then the recorder) adds the offsets."""
    if not extra:
        return
    real_set, real_get = sys.setrecursionlimit, sys.getrecursionlimit
    real_set(real_get() + extra)

    def setrecursionlimit(limit):
        if not isinstance(limit, int) or limit < 1:
            return real_set(limit)  # Python's own TypeError/ValueError
        return real_set(limit + extra)

    def getrecursionlimit():
        return real_get() - extra

    sys.setrecursionlimit, sys.getrecursionlimit = setrecursionlimit, getrecursionlimit


def _frames_below(frame) -> int:
    """How many frames ``frame`` (``run``, which execs the program: exec adds no frame) and its callers make."""
    count = 0
    while frame is not None:
        count += 1
        frame = frame.f_back
    return count


def _drop_duck_frames(traceback, report, seen: set) -> None:
    """Remove duck's own frames from a ``traceback.TracebackException`` and the exceptions chained to it."""
    if report is None or id(report) in seen:
        return
    seen.add(id(report))
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not frame.filename.startswith(_DUCK_DIR)])
    _drop_duck_frames(traceback, report.__cause__, seen)
    _drop_duck_frames(traceback, report.__context__, seen)
    for inner in getattr(report, "exceptions", None) or ():
        _drop_duck_frames(traceback, inner, seen)


def _flush_at_exit() -> bool:
    """Flush ``sys.stdout`` and ``sys.stderr`` as Python does at exit; report a failure as it does. False if one failed."""
    ok = True
    for stream in (sys.stdout, sys.stderr):
        if stream is None or getattr(stream, "closed", False):
            continue
        try:
            stream.flush()
        except Exception as exc:  # noqa: BLE001
            if stream is sys.stdout:  # Python's status 120 comes from stdout only
                ok = False
            name = "stdout" if stream is sys.stdout else "stderr"
            with pristine.restored():
                _unraisable(exc, f"on flushing sys.{name}:" if sys.version_info >= (3, 13) else f"in: {stream!r}")
    return ok


def _unraisable(exc: BaseException, where: str) -> None:
    """``Exception ignored <where>`` and the exception, written to ``sys.stderr`` as Python's default hook writes it."""
    try:
        traceback = _late_import("traceback")
        text = f"Exception ignored {where}\n" + "".join(traceback.format_exception_only(type(exc), exc))
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - stderr is gone as well: Python stays silent then too
        pass


def _clear_main_module(namespace: dict | None) -> None:
    """Clear the program's ``__main__`` globals as Python's finalization does, so the objects they hold run their ``__del__``.

    The order is CPython's ``_PyModule_ClearDict``: names starting with one underscore first,
    then the rest but ``__builtins__``.
    """
    if not isinstance(namespace, dict) or namespace is globals():
        return
    try:
        for first in (True, False):
            for name in list(namespace):
                if not isinstance(name, str) or name == "__builtins__":
                    continue
                if first == (name.startswith("_") and not name.startswith("__")):
                    namespace[name] = None
        gc.collect()
    except Exception:  # noqa: BLE001 - Python ignores what fails there too
        pass


_C_LONG = 2 ** (8 * calcsize("l") - 1)


def _exit_status(code) -> int:
    """The exit status Python gives ``sys.exit(code)``: an int as C's ``long`` then ``int`` (out of range: -1, 255)."""
    if code is None:
        return 0
    if isinstance(code, int):
        if -_C_LONG <= code < _C_LONG:
            return code & 0xFF
        if sys.version_info >= (3, 12):  # what these versions print for it (3.11 prints nothing)
            prefix = "Exception ignored on threading shutdown:\n" if sys.version_info >= (3, 13) else ""
            _write_stderr(prefix + "OverflowError: Python int too large to convert to C long\n")
        return 255
    _write_stderr(f"{code}\n")
    return 1


def _write_stderr(text: str) -> None:
    try:
        print(text, file=sys.stderr, end="")
    except Exception:  # noqa: BLE001
        pass


_DUCK_PATH: list[str] = []  # sys.path as duck imported its own modules (its folder first): see _late_import
_PROGRAM_FOLDER: str | None = None  # the folder the program's sys.path starts with (None under python -P)


def _own_sys_path(config: dict) -> None:
    """Give the program the ``sys.path`` that ``python prog.py`` (or ``python -m mod``) gives it.

    Only ``sys.path[0]`` was duck's (see ``_child.py``); it becomes the script's
    folder (or the working directory for ``-m``), or goes away under ``python -P``. No entry
    is compared by value: duck's folder may also be one of the program's (site-packages).
    """
    global _PROGRAM_FOLDER
    _DUCK_PATH[:] = sys.path
    del sys.path[0]
    if not sys.flags.safe_path:
        _PROGRAM_FOLDER = os.getcwd() if config["module"] else os.path.dirname(os.path.abspath(config["script"]))
        sys.path.insert(0, _PROGRAM_FOLDER)


def _program_finds(name: str):
    """The spec ``import name`` (a top-level name) would get from the program's ``sys.path``, were it not in
    ``sys.modules``: the import system's finders asked in their order, as the import statement asks them."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, None)
        except Exception:  # noqa: BLE001 - a broken finder: the import statement would fail there too
            return None
        if spec is not None:
            return spec
    return None


def _same_file(a: str | None, b: str | None) -> bool:
    return a == b or (a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b))


def hide_duck_imports(names) -> None:
    """Take out of ``sys.modules`` the modules among ``names`` that the program would find elsewhere.

    Duck imports stdlib modules a fresh interpreter has not loaded (``random``, ``opcode``,
    ``types``...) with its own folder first on ``sys.path``; the program, with its own folder
    there, would import its own ``opcode.py`` or ``random/`` instead. Such a top-level module
    (and its submodules) is removed from ``sys.modules``, so the program's import finds its own
    file as under ``python prog.py``; duck's code keeps the module it holds. Built-in and frozen
    modules cannot be shadowed by a file and are not looked up. ``duck`` itself: only the
    top-level name goes, so duck's own later imports (``duck.trace.call``) still find their package.
    """
    duck_root = os.path.join(_DUCK_PATH[0], "") if _DUCK_PATH else None
    tops = {name.partition(".")[0] for name in names}
    for top in tops:
        module = sys.modules.get(top)
        spec = getattr(module, "__spec__", None)
        if spec is None or spec.origin in ("built-in", "frozen") or top == "__main__":
            continue
        if duck_root is not None and isinstance(spec.origin, str) and not spec.origin.startswith(duck_root):
            # found after sys.path[0], the one entry where the program's path differs from duck's:
            # only the program's folder can hold another (a namespace portion there loses to it)
            found = None if _PROGRAM_FOLDER is None else _PathFinder.find_spec(top, [_PROGRAM_FOLDER])
            if found is None or found.origin is None or _same_file(found.origin, spec.origin):
                continue
        else:  # duck's own folder (duck itself), or duck's path unknown: the program's whole lookup
            found = _program_finds(top)
            if found is not None and _same_file(found.origin, spec.origin):
                continue
        if top == "duck":
            del sys.modules[top]
            continue
        prefix = top + "."
        for name in [n for n in sys.modules if n == top or n.startswith(prefix)]:
            del sys.modules[name]


def _late_import(name: str):
    """The stdlib module ``name`` for duck's own code once the program has started (a traceback to format).

    Imported as duck's own imports were: with duck's folder, not the program's, first on
    ``sys.path``, and the program's own modules from its folder (its ``tokenize.py``) out of
    ``sys.modules`` meanwhile, so duck gets the stdlib's. What this import loaded is then hidden
    from the program where its path finds another file (``hide_duck_imports``).
    """
    module = _LATE.get(name)
    if module is not None:
        return module
    folder = None if _PROGRAM_FOLDER is None else os.path.join(_PROGRAM_FOLDER, "")
    theirs = {}
    if folder is not None:
        for key, value in list(sys.modules.items()):
            file = getattr(value, "__file__", None)
            if key != "__main__" and isinstance(file, str) and file.startswith(folder):
                theirs[key] = value
    for key in theirs:
        del sys.modules[key]
    before = set(sys.modules)
    program_path = sys.path[:]
    if _DUCK_PATH:
        sys.path[:] = _DUCK_PATH
    try:
        __import__(name)
        module = _LATE[name] = sys.modules[name]
    finally:
        sys.path[:] = program_path
        loaded = [key for key in sys.modules if key not in before]
        sys.modules.update(theirs)
        hide_duck_imports([key for key in loaded if key not in theirs])
    return module


_LATE: dict[str, types.ModuleType] = {}


def _plain(value: object) -> object:
    """``value`` with its str, int, float, list and dict subclasses made plain (what ``marshal`` writes)."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind.__str__(value) if kind is str else kind(value)
    return repr(value)


def read_config(path: str) -> dict:
    """The child's config, which ``duck.trace.runner`` wrote with ``marshal`` (a builtin: no ``json`` to import)."""
    with open(path, "rb") as f:
        return marshal.loads(f.read())


def _limit_memory(config: dict) -> None:
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


def _run_as_outermost():
    """``exec`` for the main script, with its frame the thread's outermost where the C core can do it
    (``f_back`` None, as under python: ``inspect.stack()`` and ``warnings.warn(stacklevel=2)`` do not
    reach duck's frames); plain ``exec`` otherwise (duck's frames then stay visible beneath it)."""
    from duck.trace.localdiff import speedups

    return getattr(speedups, "run_as_outermost", None) or exec


def _die_with(parent: int | None) -> None:
    """SIGKILL when duck (``parent``) dies, so a killed terminal leaves no program running.

    Linux only (``prctl(PR_SET_PDEATHSIG)``, as ``duck.sandbox.confine`` arms it for confined
    runs); elsewhere, or without a parent given, nothing is armed.
    """
    if parent is None or not sys.platform.startswith("linux"):
        return
    from duck.trace.localdiff import speedups  # the C core's prctl: ctypes is ~3 ms of start-up

    try:
        if speedups is not None and hasattr(speedups, "set_parent_death_signal"):
            speedups.set_parent_death_signal(_signal.SIGKILL)
        else:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, _signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # duck died before the signal was armed
        os._exit(137)


def main(fresh: frozenset | None = None) -> None:
    """``fresh``: the modules a fresh interpreter had loaded (``_child.py`` notes them): of the others, those the
    program would find elsewhere are hidden from it when it starts (``hide_duck_imports``)."""
    config = read_config(sys.argv[1])
    _limit_memory(config)  # resource, ctypes, random: imported while duck's folder is first on sys.path
    _die_with(config.get("parent"))
    import random  # noqa: F401 - seeded in run()
    _own_sys_path(config)
    _Child(config, fresh).run()

