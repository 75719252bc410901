"""A canned recording of a small failing program, and test doubles for the app's collaborators.

The trace is written by hand in the v1 format (docs/trace-format.md), so these tests need no
recorder. Fakes live here only: a fake explainer, model loader, fix search, applier and recorder.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from duck.session import Session
from duck.trace.format import Trace, header

FILE = "/prog/average.py"
SOURCE = """\
def average(xs):
    total = 0
    for x in xs:
        total += x
    return total / len(xs)

scores = [3, 4, 5]
print(average(scores))
print(average([]))
"""


def ev(step, event, line, func, frame, parent, depth, **extra):
    record = {"step": step, "event": event, "file": FILE, "line": line, "func": func,
              "depth": depth, "frame": frame, "parent": parent}
    record.update(extra)
    return record


def average_trace() -> Trace:
    m, a1, a2 = 1, 2, 3
    events = [
        ev(0, "call", 1, "<module>", m, None, 0),
        ev(1, "line", 1, "<module>", m, None, 0),
        ev(2, "line", 7, "<module>", m, None, 0, changes={"average": "<function average>"}),
        ev(3, "line", 8, "<module>", m, None, 0, changes={"scores": "[3, 4, 5]"}),
        ev(4, "call", 1, "average", a1, m, 1, changes={"xs": "[3, 4, 5]"}),
        ev(5, "line", 2, "average", a1, m, 1),
        ev(6, "line", 3, "average", a1, m, 1, changes={"total": "0"}),
        ev(7, "line", 4, "average", a1, m, 1, changes={"x": "3"}),
        ev(8, "line", 3, "average", a1, m, 1, changes={"total": "3"}),
        ev(9, "line", 4, "average", a1, m, 1, changes={"x": "4"}),
        ev(10, "line", 3, "average", a1, m, 1, changes={"total": "7"}),
        ev(11, "line", 4, "average", a1, m, 1, changes={"x": "5"}),
        ev(12, "line", 3, "average", a1, m, 1, changes={"total": "12"}),
        ev(13, "line", 5, "average", a1, m, 1),
        ev(14, "return", 5, "average", a1, m, 1, value="4.0"),
        ev(15, "line", 9, "<module>", m, None, 0, stdout="4.0\n"),
        ev(16, "call", 1, "average", a2, m, 1, changes={"xs": "[]"}),
        ev(17, "line", 2, "average", a2, m, 1),
        ev(18, "line", 3, "average", a2, m, 1, changes={"total": "0"}),
        ev(19, "line", 5, "average", a2, m, 1),
        ev(20, "exception", 5, "average", a2, m, 1, exc_type="ZeroDivisionError", exc_msg="division by zero"),
        ev(21, "exception", 9, "<module>", m, None, 0, exc_type="ZeroDivisionError", exc_msg="division by zero",
           stderr="Traceback (most recent call last):\nZeroDivisionError: division by zero\n"),
    ]
    outcome = {"outcome": "exception", "steps": len(events), "exit_code": 1, "duration_s": 0.01,
               "exception": {"type": "ZeroDivisionError", "message": "division by zero",
                             "traceback": [{"file": FILE, "line": 9, "func": "<module>", "text": "print(average([]))"},
                                           {"file": FILE, "line": 5, "func": "average",
                                            "text": "return total / len(xs)"}]},
               "limit": None, "message": None, "stdin": ""}
    return Trace(header=header(argv=["average.py"], script=FILE), events=events, sources={FILE: SOURCE},
                 outcome=outcome)


@pytest.fixture
def session() -> Session:
    return Session.from_trace(average_trace())


class FakeExplainer:
    """Explains a step in two chunks, from the session (so a test can tell which step it was for)."""

    def __init__(self, name: str = "fake narrator", fail: Exception | None = None) -> None:
        self.name = name
        self.fail = fail
        self.calls: list[tuple[int, str]] = []

    def explain(self, session, step, scope):
        self.calls.append((step, scope))
        if self.fail is not None:
            raise self.fail
        yield f"[{self.name}] step {step} "
        yield f"runs line {session.line(step)} ({scope})."

    def cancel(self) -> None:  # as a model (duck.collaborators.Model): nothing streams long enough to stop
        pass

    def close(self) -> None:
        pass


@dataclass
class FakeFix:
    file: str
    diff: str
    patched_source: str
    explanation: str
    verified: bool = True
    origin: str = "fake"


FIX = FakeFix(
    file=FILE,
    diff="--- a/average.py\n+++ b/average.py\n@@ -5 +5 @@\n-    return total / len(xs)\n"
         "+    return total / len(xs) if xs else 0.0\n",
    patched_source=SOURCE.replace("return total / len(xs)", "return total / len(xs) if xs else 0.0"),
    explanation="average([]) divides by zero; return 0.0 for an empty list",
)


def finished_session() -> Session:
    """What a re-run of the fixed program records: the same run, now finishing."""
    trace = average_trace()
    trace.events = trace.events[:20]
    trace.events[19] = ev(19, "line", 5, "average", 3, 1, 1)
    trace.outcome = {"outcome": "finished", "steps": 20, "exit_code": 0}
    return Session.from_trace(trace)


async def settle(pilot) -> None:
    """Wait until every live worker has finished and its messages are handled.

    A worker cancelled by an exclusive successor is not waited for (waiting on it raises).
    """
    app = pilot.app
    for _ in range(20):
        live = [w for w in app.workers if not w.is_cancelled and not w.is_finished]
        if not live:
            break
        await app.workers.wait_for_complete(live)
    await pilot.pause()
