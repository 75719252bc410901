"""The compact event store: runs handed to a sink format to the same bytes in C and in Python."""

from __future__ import annotations

import pytest

from duck.trace import store
from duck.trace.limits import Limits
from duck.trace.recorder import CapturedStream, Recorder

TRICKY = '''
def gen(n):
    for i in range(n):
        yield i


def tricky(n):
    café = "naïve \\u00e9 \\x00\\x1f\\t\\n \\" \\\\ \\udc80 \\U0001f986"
    quote = 'say "hi"'
    total = sum(gen(n))
    seen = {"k": total}
    del seen
    print("out \\udc80", café[:3])
    try:
        raise ValueError("bad \\"value\\"\\n")
    except ValueError as exc:
        message = str(exc)
    for k in range(n):
        total += k
    return [café, quote, total, message]
'''


def _runs(batch_size: int):
    namespace: dict = {}
    exec(compile(TRICKY, "<tricky>", "exec"), namespace)
    runs = []
    recorder = Recorder(lambda f: f == "<tricky>", Limits(), batch_size=batch_size,
                        sink=lambda events, frames, outputs: runs.append((events, frames, dict(outputs))))
    import io
    import sys

    saved = sys.stdout
    sys.stdout = CapturedStream("stdout", io.StringIO(), recorder.note_output, passthrough=False)
    recorder.start()
    try:
        namespace["tricky"](40)
    finally:
        recorder.stop()
        sys.stdout = saved
    recorder.flush()
    return runs


@pytest.mark.parametrize("batch_size", [7, 8192])
def test_c_and_python_write_the_same_bytes(batch_size):
    runs = _runs(batch_size)
    assert sum(len(events) for events, _, _ in runs) > 100
    python = b"".join(store.format_events(*run).encode("utf-8", "backslashreplace") for run in runs)
    written = b"".join(store.format_events_bytes(*run) for run in runs)  # C where _speedups is built
    assert written == python
    text = python.decode("utf-8")
    assert '"exc_type":"ValueError"' in text and '"deleted":["seen"]' in text
    assert '"stdout":"out \\udc80 na\u00ef\\n"' in text  # an unpaired surrogate, backslash-escaped as the file writer did
    assert '"caf\u00e9":"\'na\u00efve' in text and '"value":"[' in text


def test_packed_runs_keep_their_texts():
    runs = _runs(8192)
    events, frames, outputs = runs[0]
    before = store.format_events(events, frames, outputs)
    assert store.format_events(events.pack(), frames, outputs) == before


@pytest.mark.skipif(not hasattr(__import__("signal"), "pthread_sigmask"), reason="needs pthread_sigmask")
def test_a_signal_handler_that_raises_during_a_flush_loses_no_events():
    """A program's handler (an alarm that raises Timeout) may fire while duck hands events over."""
    import os
    import signal

    class Timeout(Exception):
        pass

    def on_signal(signum, frame):
        raise Timeout()

    namespace: dict = {}
    exec(compile(TRICKY, "<tricky>", "exec"), namespace)
    written = []

    def sink(events, frames, outputs):
        os.kill(os.getpid(), signal.SIGUSR1)  # arrives now; its handler runs at the next bytecode
        for _ in range(100):
            pass
        written.append(len(events))

    recorder = Recorder(lambda f: f == "<tricky>", Limits(), sink=sink)
    recorder.start()
    try:
        namespace["tricky"](40)
    finally:
        recorder.stop()
    recorded = len(recorder.open)
    previous = signal.signal(signal.SIGUSR1, on_signal)
    try:
        with pytest.raises(Timeout):  # the handler still runs, once the events are handed over
            recorder.flush()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert written == [recorded] and recorded > 100


@pytest.mark.skipif(not hasattr(__import__("signal"), "pthread_sigmask"), reason="needs pthread_sigmask")
def test_a_handler_that_raises_as_the_flush_blocks_signals_leaves_the_mask_as_it_was(monkeypatch):
    """pthread_sigmask runs the handlers of signals already caught once it has changed the mask: a
    program's handler raising from the call that blocks them must not leave them blocked for good."""
    import signal

    from duck.trace import recorder as recorder_module

    class Timeout(Exception):
        pass

    real = recorder_module._pthread_sigmask

    def raising_after_the_block(how, mask):
        previous = real(how, mask)
        if how == signal.SIG_BLOCK and mask:
            raise Timeout()  # what a handler run by the call's PyErr_CheckSignals does
        return previous

    namespace: dict = {}
    exec(compile(TRICKY, "<tricky>", "exec"), namespace)
    recorder = Recorder(lambda f: f == "<tricky>", Limits(), sink=lambda *batch: None)
    recorder.start()
    try:
        namespace["tricky"](10)
    finally:
        recorder.stop()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    monkeypatch.setattr(recorder_module, "_pthread_sigmask", raising_after_the_block)
    with pytest.raises(Timeout):
        recorder.flush()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
