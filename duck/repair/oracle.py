"""Oracles: what decides that a recorded run failed, and whether a re-run now passes.

In order of strength (issue 5): a pytest test (``--test NODEID``), the expected standard
output (``--expect TEXT`` / ``--expect-file F``), the program's own ``assert`` statements,
and otherwise "it raised or exited non-zero". Every oracle

- ``prepare(request)`` turns the program's ``RecordRequest`` into the run that checks it
  (for a test: ``python -m pytest NODEID``),
- ``judge(session)`` gives a ``Verdict`` for one recorded run,
- ``verify_request(request)`` / ``verify(baseline, candidate)`` are what the repair search
  uses: the candidate passes *and* nothing that passed in the baseline run fails now (for a
  test oracle the whole test file runs, so the other tests are checked too),
- ``screen(buggy, candidate)`` is the same check made from how an *untraced* run ended and
  what it printed (any object with ``outcome`` and ``stdout``: a ``Session`` or a
  ``duck.repair.verify.QuickRun``); a candidate must pass it before it is recorded, so it
  may only be looser than ``verify``, never stricter,
- ``failing_step(session)`` points fault localisation at where the failure shows.

This module does not record (``duck.trace.runner`` does) and does not search for fixes.
"""

from __future__ import annotations

import ast
import os
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from duck.errors import DuckError
from duck.sandbox.each_assert import MODULE as EACH_ASSERT, top_level_asserts

if TYPE_CHECKING:  # pragma: no cover
    from duck.session import Session
    from duck.trace.runner import RecordRequest

_PYTEST_FLAGS = ["-rA", "-p", "no:cacheprovider", "--no-header", "-q"]
_SUMMARY = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|XFAIL|SKIPPED)\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Verdict:
    """Whether a run passed its oracle, and why, in one sentence."""

    passed: bool
    reason: str
    oracle: str = "exit"

    def describe(self) -> str:
        return f"{'passed' if self.passed else 'FAILED'} ({self.oracle}): {self.reason}"


class Oracle(Protocol):
    name: str

    def prepare(self, request: "RecordRequest") -> "RecordRequest": ...
    def judge(self, session: "Session") -> Verdict: ...
    def verify_request(self, request: "RecordRequest") -> "RecordRequest": ...
    def verify(self, baseline: "Session", candidate: "Session") -> Verdict: ...
    def screen(self, buggy, candidate) -> Verdict: ...
    def failing_step(self, session: "Session") -> int | None: ...
    def failure_text(self, session: "Session") -> str: ...


def describe_outcome(outcome: dict) -> str:
    """One line for how a run ended: ``raised IndexError: list index out of range`` etc."""
    kind = outcome.get("outcome")
    if kind == "finished":
        return "finished normally"
    if kind == "exception":
        exc = outcome.get("exception") or {}
        where = ""
        frames = exc.get("traceback") or []
        if frames:
            where = f" at line {frames[-1].get('line')}"
        message = exc.get("message") or ""
        return f"raised {exc.get('type', 'an exception')}{': ' + message if message else ''}{where}"
    if kind == "exited":
        return f"exited with status {outcome.get('exit_code')}"
    if kind == "limit":
        return f"was stopped by the {outcome.get('limit')} limit"
    if kind == "failed_to_start":
        message = (outcome.get("exception") or {}).get("message") or outcome.get("message") or ""
        return f"failed to start{': ' + message if message else ''}"
    return f"ended ({kind})"


def _last_user_step(session: "Session") -> int | None:
    return session.last() if len(session) else None


@dataclass
class RunOracle:
    """The weakest oracles: the program's own ``assert``s, else "no exception, exit status 0"."""

    has_asserts: bool = False
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = "asserts" if self.has_asserts else "exit"

    def prepare(self, request: "RecordRequest") -> "RecordRequest":
        return request

    def judge(self, session: "Session") -> Verdict:
        outcome = session.outcome
        if outcome.get("outcome") == "finished":
            reason = "every assert held and the run finished" if self.has_asserts else "the run finished with status 0"
            return Verdict(True, reason, self.name)
        outcomes = assert_outcomes(session) if self.has_asserts and hasattr(session, "header") else {}
        failed = sum(1 for value in outcomes.values() if value)
        counts = f"; {failed} of its {len(outcomes)} top-level asserts failed" if failed else ""
        return Verdict(False, f"the run {describe_outcome(outcome)}{counts}", self.name)

    def verify_request(self, request: "RecordRequest") -> "RecordRequest":
        """A program with two or more top-level asserts runs through ``duck.sandbox.each_assert``:
        each assert is its own test, so a failing one does not hide the ones after it (they
        are checked, and localisation and ranking see every one that passes)."""
        if not self.has_asserts or request.module or request.script is None:
            return request
        cwd = Path(request.cwd or os.getcwd())
        path = request.script if Path(request.script).is_absolute() else cwd / request.script
        try:
            tree = ast.parse(Path(path).read_bytes())
        except (OSError, SyntaxError, ValueError):
            return request
        if len(top_level_asserts(tree)) < 2:
            return request
        return request.replace(module=EACH_ASSERT, argv=[os.path.relpath(path, cwd), *request.argv])

    def verify(self, baseline: "Session", candidate: "Session") -> Verdict:
        verdict = self.judge(candidate)
        if not verdict.passed or not self.has_asserts:
            return verdict
        skipped = sorted(assert_lines_run(baseline) - assert_lines_run(candidate))
        if skipped:
            return Verdict(False, f"the run finished but skipped the assert(s) on line(s) "
                                  f"{', '.join(map(str, skipped))} that the failing run checked", self.name)
        before = assert_outcomes(baseline)
        if before:
            failed = sum(1 for value in before.values() if value)
            return Verdict(True, f"all {len(before)} top-level asserts now hold: the {failed} that failed and "
                                 f"the {len(before) - failed} that passed before", self.name)
        return Verdict(True, "every assert the failing run reached now holds, and the run finished", self.name)

    def screen(self, buggy, candidate) -> Verdict:
        return self.judge(candidate)  # which asserts ran needs the recording: ``verify`` checks it

    def failing_step(self, session: "Session") -> int | None:
        step = session.exception_step()
        return step if step is not None else _last_user_step(session)

    def failure_text(self, session: "Session") -> str:
        return f"# running the program {describe_outcome(session.outcome)}"


def assert_lines_run(session: "Session") -> set[int]:
    """Lines of ``assert`` statements in the recorded program (the header's script) that ran."""
    script = session.header.get("script")
    if not script:
        return set()
    try:
        tree = ast.parse(session.source(script))
    except (SyntaxError, ValueError):
        return set()
    executed = session.executed_lines(script)
    return {node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert) and node.lineno in executed}


def assert_outcomes(session: "Session") -> dict[int, bool]:
    """Line of each top-level assert -> whether it failed, in a run made by
    ``duck.sandbox.each_assert`` (every assert ran, each as its own outermost ``<module>``
    frame; it failed when an exception left that frame); empty for any other run."""
    script = session.header.get("script")
    if session.header.get("module") != EACH_ASSERT or not script or not len(session):
        return {}
    try:
        lines = set(top_level_asserts(ast.parse(session.source(script))))
    except (SyntaxError, ValueError):
        return {}
    from duck.repair.localize import outermost_frames

    raised = session.exception_steps()
    outcomes: dict[int, bool] = {}
    for frame in sorted(outermost_frames(session), key=session.frame_call_step):
        if session.frame_func(frame) != "<module>":
            continue
        steps = session.frame_steps(frame)
        first = next((step for step in steps if session.kind(step) == "line"), None)
        if first is None or session.file(first) != script or session.line(first) not in lines:
            continue
        end = session.frame_end_step(frame)
        index = bisect_left(raised, steps[0])
        failed = False
        while index < len(raised) and raised[index] <= end:
            if session.frame(raised[index]) == frame:
                failed = True
                break
            index += 1
        line = session.line(first)
        outcomes[line] = outcomes.get(line, False) or failed
    return outcomes


def normalize_output(text: str) -> str:
    """Output compared line by line, ignoring trailing spaces and trailing blank lines."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).rstrip("\n")


@dataclass
class ExpectOracle:
    """The run must finish and print exactly ``expected`` (trailing whitespace ignored)."""

    expected: str
    name: str = "expect"

    def prepare(self, request: "RecordRequest") -> "RecordRequest":
        return request

    def judge(self, session: "Session") -> Verdict:
        got = normalize_output(session.stdout)
        want = normalize_output(self.expected)
        if session.outcome.get("outcome") != "finished":
            return Verdict(False, f"the run {describe_outcome(session.outcome)} before printing the expected output", self.name)
        if got == want:
            return Verdict(True, "the output is the expected one", self.name)
        return Verdict(False, f"the output differs from the expected one: {_first_difference(got, want)}", self.name)

    def verify_request(self, request: "RecordRequest") -> "RecordRequest":
        return request

    def verify(self, baseline: "Session", candidate: "Session") -> Verdict:
        return self.judge(candidate)

    def screen(self, buggy, candidate) -> Verdict:
        return self.judge(candidate)

    def failing_step(self, session: "Session") -> int | None:
        """The step that printed the first wrong character; else where the run stopped."""
        want = normalize_output(self.expected)
        printed = ""
        for event in session.events():
            if not event.stdout:
                continue
            printed += event.stdout
            if not want.startswith(normalize_output(printed)) and not normalize_output(printed).startswith(want):
                return event.step
        step = session.exception_step()
        return step if step is not None else _last_user_step(session)

    def failure_text(self, session: "Session") -> str:
        got = session.stdout
        return (f"# expected output:\n{_commented(self.expected)}\n# actual output:\n{_commented(got)}\n"
                f"# the run {describe_outcome(session.outcome)}")


def _commented(text: str) -> str:
    return "\n".join(f"#   {line}" for line in text.rstrip("\n").split("\n"))


def _first_difference(got: str, want: str) -> str:
    got_lines, want_lines = got.split("\n"), want.split("\n")
    for index, (a, b) in enumerate(zip(got_lines, want_lines), start=1):
        if a != b:
            return f"line {index} is {a!r}, expected {b!r}"
    if len(got_lines) < len(want_lines):
        return f"{len(want_lines) - len(got_lines)} expected line(s) missing, first {want_lines[len(got_lines)]!r}"
    return f"{len(got_lines) - len(want_lines)} extra line(s), first {got_lines[len(want_lines)]!r}"


def pytest_results(output: str) -> dict[str, str]:
    """nodeid -> PASSED/FAILED/ERROR/... from pytest's ``-rA`` short summary."""
    return {match.group(2): match.group(1) for match in _SUMMARY.finditer(output)}


#: what a test the recording cannot back is counted as (see ``recorded_results``)
UNBACKED = "UNBACKED"


def _node_function(node: str) -> tuple[str, str]:
    """(test file, function name) of a pytest node id: ``tests/t.py::TestX::test_y[1]`` -> ``("tests/t.py", "test_y")``."""
    path, _, rest = node.partition("::")
    return str(Path(path)), re.sub(r"\[.*\]$", "", rest.rsplit("::", 1)[-1])


def _in_file(recorded: str, test_file: str) -> bool:
    return recorded == test_file or recorded.endswith("/" + test_file.lstrip("./"))


def recorded_results(session) -> dict[str, str]:
    """``pytest_results`` of a run, kept only where its recording backs them.

    The summary is text the run prints, and the program runs in pytest's process: it can
    print ``PASSED <node>`` itself (and end with ``os._exit``, or print it at exit after the
    real summary). So a test counts as PASSED only when the recording holds as many normal
    returns (not an exception's way out) of its function in its file as the summary claims
    passes of it, and as XFAIL only when its function was called at all; else it is
    ``UNBACKED``. An untraced run (no steps: the screening) and a test file the recording
    does not cover (no step in it) are taken as printed; the recording then decides.
    """
    results = pytest_results(session.stdout)
    if not hasattr(session, "frame") or not len(session):
        return results
    wanted = {_node_function(node) for node, status in results.items() if status in ("PASSED", "XFAIL")}
    if not wanted:
        return results
    files = {file for file, _ in wanted}
    covered = {f: any(_in_file(r, f) for r in session.files) for f in files}
    returns: dict[tuple[str, str], int] = {}
    calls: dict[tuple[str, str], int] = {}
    last_kind: dict[int, str] = {}
    for step in range(len(session)):
        kind, frame = session.kind(step), session.frame(step)
        if kind == "call" or kind == "return":
            name = session.frame_func(frame).rsplit(".", 1)[-1]
            for file, function in wanted:
                if function == name and _in_file(session.frame_file(frame), file):
                    counts = calls if kind == "call" else returns
                    if kind == "call" or last_kind.get(frame) != "exception":
                        counts[(file, function)] = counts.get((file, function), 0) + 1
        last_kind[frame] = kind
    passes: dict[tuple[str, str], int] = {}
    backed = dict(results)
    for node, status in results.items():
        key = _node_function(node)
        if status not in ("PASSED", "XFAIL") or not covered[key[0]]:
            continue
        if status == "XFAIL":
            if not calls.get(key):
                backed[node] = UNBACKED
            continue
        passes[key] = passes.get(key, 0) + 1
        if passes[key] > returns.get(key, 0):
            backed[node] = UNBACKED
    return backed


def _same_test(a: str, b: str) -> bool:
    """Node ids equal up to the form of their path (``./tests/x.py`` vs ``tests/x.py``)."""
    def norm(node: str) -> str:
        path, sep, rest = node.partition("::")
        return str(Path(path)) + sep + rest
    return norm(a) == norm(b)


@dataclass
class TestOracle:
    """A pytest node id must pass; when verifying a fix, every other test in its file that
    passed before must still pass."""

    __test__ = False  # not a pytest test class
    nodeid: str
    name: str = "test"

    @property
    def test_file(self) -> str:
        return self.nodeid.split("::", 1)[0]

    def prepare(self, request: "RecordRequest") -> "RecordRequest":
        return request.replace(module="pytest", argv=[*_PYTEST_FLAGS, self.nodeid])

    def verify_request(self, request: "RecordRequest") -> "RecordRequest":
        return request.replace(module="pytest", argv=[*_PYTEST_FLAGS, self.test_file])

    def _status(self, results: dict[str, str]) -> str | None:
        for node, status in results.items():
            if _same_test(node, self.nodeid):
                return status
        return None

    def judge(self, session: "Session") -> Verdict:
        results = recorded_results(session)
        status = self._status(results)
        if status is None:
            if session.outcome.get("exit_code") == 5 or "no tests ran" in session.stdout:
                return Verdict(False, f"pytest found no test {self.nodeid}", self.name)
            return Verdict(False, f"pytest did not report {self.nodeid}: the run {describe_outcome(session.outcome)}", self.name)
        if status in ("PASSED", "XFAIL"):
            return Verdict(True, f"{self.nodeid} passed", self.name)
        if status == UNBACKED:
            return Verdict(False, f"the run printed that {self.nodeid} passed, but its recording shows the test "
                                  "did not return normally", self.name)
        return Verdict(False, f"{self.nodeid} {status.lower()}", self.name)

    def verify(self, baseline: "Session", candidate: "Session") -> Verdict:
        verdict = self.judge(candidate)
        if not verdict.passed:
            return verdict
        before, after = recorded_results(baseline), recorded_results(candidate)
        broken = [node for node, status in before.items() if status == "PASSED" and after.get(node) != "PASSED"]
        if broken:
            return Verdict(False, f"{self.nodeid} passes but {', '.join(broken)} no longer passes", self.name)
        kept = [node for node, status in before.items() if status == "PASSED" and not _same_test(node, self.nodeid)]
        if not kept:
            return Verdict(True, f"{self.nodeid} passed (no other test of {self.test_file} passed before)", self.name)
        return Verdict(True, f"{self.nodeid} passed and the {len(kept)} other test(s) of {self.test_file} "
                             f"that passed before still pass", self.name)

    def screen(self, buggy, candidate) -> Verdict:
        return self.verify(buggy, candidate)  # pytest's summary is all it reads

    def failing_step(self, session: "Session") -> int | None:
        """The exception inside the named test (an ``assert`` in it, or what its callee raised)."""
        test_name = re.sub(r"\[.*\]$", "", self.nodeid.rsplit("::", 1)[-1])
        steps = session.exception_steps()
        for step in reversed(steps):
            if session.event(step).func.split(".")[-1] == test_name:
                # the deepest frame that raised this exception: walk back to where it started
                first = step
                while first - 1 >= 0 and session.event(first - 1).kind in ("exception", "return") \
                        and session.event(first - 1).depth > session.event(step).depth:
                    first -= 1
                return first if session.event(first).kind == "exception" else step
        step = session.exception_step()
        return step if step is not None else _last_user_step(session)

    def failure_text(self, session: "Session") -> str:
        return f"# pytest {self.nodeid}\n{_commented(_pytest_failure_excerpt(session.stdout))}"


def _pytest_failure_excerpt(output: str, limit: int = 1500) -> str:
    start = output.find("FAILURES")
    text = output[start:] if start >= 0 else output
    return text[:limit]


def program_has_asserts(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def oracle_for(*, expect: str | None = None, expect_file: str | Path | None = None, test: str | None = None,
               source: str | None = None) -> Oracle:
    """The strongest oracle the options give: test, then expected output, then asserts, then exit."""
    if test:
        if "::" not in test and not test.endswith(".py"):
            raise DuckError(f"--test {test!r} is not a pytest node id",
                            "give a test id such as tests/test_x.py::test_y")
        return TestOracle(test)
    if expect_file:
        try:
            expected = Path(expect_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DuckError(f"cannot read --expect-file {expect_file}: {getattr(exc, 'strerror', None) or exc}",
                            "give a readable UTF-8 text file holding the expected output") from None
        return ExpectOracle(expected)
    if expect is not None:
        return ExpectOracle(expect.replace("\\n", "\n") if "\n" not in expect else expect)
    return RunOracle(has_asserts=program_has_asserts(source or ""))


def oracle_from_args(args) -> Oracle:
    """The oracle that ``duck run``/``duck fix`` flags ask for (see ``oracle_for``)."""
    source = None
    file = getattr(args, "file", None)
    if file:
        try:
            source = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = None
    return oracle_for(expect=getattr(args, "expect", None), expect_file=getattr(args, "expect_file", None),
                      test=getattr(args, "test", None), source=source)
