"""The repair search: record the failing run, localise, try candidate edits, keep what verifies.

``search(request)`` records the buggy program once in a private copy (the *baseline*), asks
the oracle whether it fails, ranks suspicious lines from the recording, then verifies
candidates in parallel: single model-free edits first, then (with a model configured)
SemCoder's refine answers over a few self-refine rounds, then pairs of edits when nothing
single worked. Candidates are screened by an untraced run and only the ones that pass are
recorded (``duck.repair.verify``). When the program itself is the oracle's entry point, its
inputs (module-level literal data) are never edited, and when it failed inside a function
only function bodies are. Once a candidate verifies, the next ``COLLECT_AFTER`` candidates in
the search's order are still tried, and every fix among them is kept: which fixes are found
depends on that order, never on which run finished first. Every verified fix is explained by
where the fixed run first departs from the buggy one, compared with the buggy program on calls
near the recorded ones (``duck.repair.probe``), checked for a degenerate shape, and ranked by
``duck.repair.rank`` (which also says why the first is first). The time budget
is a deadline (running candidates are killed there) and ``should_stop`` cancels a search
within a fraction of a second. ``search_fixes`` is the short form the TUI and ``duck fix`` use.
Every run, the buggy program's included, is confined in the runner's sandbox; the result's
``notes`` say where the program tried to write outside its folder, and when this system
cannot confine writes at all.

Nothing here writes to the user's files (``duck.repair.apply`` does, on request).
"""

from __future__ import annotations

import dataclasses
import difflib
import heapq
import importlib
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, Iterable, Iterator

from duck.errors import DuckError
from duck.repair.apply import compiles, read_source
from duck.repair.diverge import line_map
from duck.repair.localize import Suspect, names_seen, suspicious_lines, test_segments
from duck.repair.oracle import (Oracle, RunOracle, TestOracle, Verdict, assert_outcomes, program_has_asserts,
                               pytest_results)
from duck.repair.probe import Comparison, compare
from duck.repair.proposals import Proposal
from duck.repair.rank import (argument_name_gain, before_recording_key, behaviour_distance, degenerate_reason,
                              first_changed_line, lines_run, lines_touched, rank_key, redundancy_gain, why_first)
from duck.repair.targets import FileSource, TargetedWorkspace, module_files
from duck.repair.verify import (CandidateRunner, RunResult, Workspace, candidate_limits, outside_writes_note,
                                quick_timeout, scratch_folder)
from duck.session import Session
from duck.trace.limits import Limits
from duck.trace.runner import RecordRequest

if TYPE_CHECKING:  # pragma: no cover
    from duck.repair.edits import Edit


@dataclass
class RepairRequest:
    """What to repair and how to check it.

    ``record`` is the program's run as ``duck record`` would record it (``script``, ``argv``,
    ``cwd``, ``include``/``exclude``, ``seed``, ``limits``, ``echo``: show the buggy run's output
    as it runs). Its ``stdin`` is replayed text (None: empty input; ``"inherit"``: the buggy run
    reads duck's own stdin, and what it read is replayed to every candidate). ``should_stop`` is
    asked while the search waits; once it returns True the search kills its runs and returns.
    """

    record: RecordRequest
    oracle: Oracle | None = None          # None: asserts / exit status
    max_candidates: int = 600             # model-free candidates run, singles and pairs together
    max_fixes: int = 3                    # stop once this many fixes are verified
    time_budget_s: float = 120.0
    jobs: int | None = None
    backend: object | None = None         # a models.base.Backend for model candidates
    model_rounds: int = 3
    problem: str | None = None            # what the program should do, for the model's prompt
    progress: Callable[[str], None] | None = None
    should_stop: Callable[[], bool] | None = None


@dataclass
class Fix:
    """A patch of one file; ``verified`` only when the oracle passed on a re-run."""

    file: Path
    original_source: str
    patched_source: str
    diff: str
    explanation: str
    verified: bool
    origin: str                            # "edit" (model-free) or "model"
    description: str
    verdict: Verdict | None = None
    size: int = 0                          # lines touched: a replaced line counts once, an added one too
    kept_steps: int = 0                    # steps the fixed run shares with the buggy one
    behaviour_distance: int = 0            # recorded events the two runs do not share (duck.repair.rank)
    name_gain: int = 0                     # call arguments now named like their parameters
    agreement: int = 0                     # derived calls answered like the buggy program (duck.repair.probe)
    probe_calls: int = 0                   # derived calls the buggy program answered (what ``agreement`` counts of)
    degenerate: str | None = None          # why the fix is suspect by its shape (duck.repair.rank), else None
    line: int = 0                          # the first line of the buggy program that the fix changes
    lines_run: int = 0                     # distinct lines of the fixed file its run executed (duck.repair.rank)
    passing_distance: int = 0              # behaviour_distance over the tests that passed in the buggy run

    def evidence(self) -> str:
        """What the fix rests on, in a few words (the fixes list and the report show it)."""
        parts = []
        if self.degenerate:
            parts.append(f"suspect: {self.degenerate}")
        if self.probe_calls:
            parts.append(f"keeps {self.agreement}/{self.probe_calls} nearby answers")
        if self.name_gain > 0:
            parts.append("arguments now match their parameters' names")
        if self.verdict is not None and self.verdict.passed:
            parts.append(self.verdict.reason)
        return "; ".join(parts)

    def where(self) -> str:
        return f"{self.file.name}:{self.line}" if self.line else self.file.name

    def to_dict(self) -> dict:
        return {"file": str(self.file), "verified": self.verified, "origin": self.origin,
                "description": self.description, "diff": self.diff, "explanation": self.explanation,
                "verdict": self.verdict.reason if self.verdict else None, "size": self.size,
                "kept_steps": self.kept_steps, "behaviour_distance": self.behaviour_distance,
                "name_gain": self.name_gain, "agreement": self.agreement, "probe_calls": self.probe_calls,
                "degenerate": self.degenerate, "line": self.line, "evidence": self.evidence(),
                "passing_distance": self.passing_distance, "lines_run": self.lines_run,
                "patched_source": self.patched_source}


@dataclass
class RepairResult:
    baseline_verdict: Verdict
    fixes: list[Fix]                       # verified, best first
    unverified: list[Fix]                  # model proposals that failed verification
    suspects: list[Suspect]
    candidates_run: int
    duration_s: float
    oracle: str
    recorded_runs: int = 0                 # candidate runs that were recorded (passed the untraced screening)
    stopped: str | None = None             # "deadline" or "cancelled" when the search ended early
    why_first: str = ""                    # why fixes[0] is ranked first (duck.repair.rank.why_first)
    verified_count: int = 0                # fixes that verified, before the list was cut to ``max_fixes``
    notes: list[str] = field(default_factory=list)   # lines for the user: writes refused, confinement missing

    @property
    def already_passing(self) -> bool:
        return self.baseline_verdict.passed


def unified_diff(file: Path, before: str, after: str) -> str:
    name = file.name
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))


def _say(request: RepairRequest, text: str) -> None:
    if request.progress is not None:
        request.progress(text)


def search(request: RepairRequest) -> RepairResult:
    """Search for verified fixes of ``request.record.script`` (see the module docstring)."""
    started = time.monotonic()
    _warm_edits()
    script = Path(request.record.script)
    if not script.is_file():
        raise DuckError(f"no such file: {script}", "give the path of the Python program to fix")
    try:
        original, _ = read_source(script)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise DuckError(f"cannot read {script}: {getattr(exc, 'strerror', None) or exc}",
                        "duck fixes Python source files in the encoding they declare (UTF-8 by default)") from None
    if not compiles(original):
        raise DuckError(f"{script} does not compile, so duck cannot run it to find a fix",
                        "fix the syntax error first (python -m py_compile shows where)")
    oracle = request.oracle or RunOracle(has_asserts=program_has_asserts(original))
    cwd = Path(request.record.cwd or os.getcwd())
    with scratch_folder() as scratch:
        workspace = TargetedWorkspace.create(script, cwd, Path(scratch))
        base_request = request.record.replace(script=script, cwd=cwd)
        verify_request = oracle.verify_request(oracle.prepare(base_request))
        with CandidateRunner(workspace, verify_request, oracle, jobs=request.jobs) as runner:
            result = _search_with(runner, request, oracle, workspace, verify_request, original, started)
        result.notes = _notes(runner)
        return result


def _warm_edits() -> None:
    """Import numpy (the recording's step index, which finds the failing step) and the edit
    generator (libcst) beside the buggy run's recording, which they are needed only after
    (half a second to a second each on a busy machine)."""
    def imports() -> None:
        for name in ("numpy", "duck.repair.edits"):
            try:
                importlib.import_module(name)
            except ImportError:  # reported where it is needed, in the search's own thread
                return

    threading.Thread(target=imports, name="duck-import", daemon=True).start()


def _notes(runner: CandidateRunner) -> list[str]:
    from duck.sandbox import confinement_note

    notes = [confinement_note()]
    notes.append(outside_writes_note(runner.writes_outside, bool(runner.confined)))
    return [note for note in notes if note]


def _search_with(runner: CandidateRunner, request: RepairRequest, oracle: Oracle, workspace: Workspace,
                 verify_request, original: str, started: float) -> RepairResult:
    """The search itself, with the runner (and its sandbox) that ``search`` owns."""
    script = Path(request.record.script)
    runner.deadline = started + request.time_budget_s
    _say(request, "recording the failing run")
    with ThreadPoolExecutor(max_workers=1) as pool:
        quick_baseline = _start_quick_baseline(runner, oracle, request, pool)
        try:
            baseline = runner.record(None)
        except BaseException:  # Ctrl-C: the untraced baseline beside it stops too
            runner.cancel()
            raise
    runner.baseline = baseline.session
    # every later run reads what the buggy run read (from the terminal or a pipe, when inherited)
    runner.request = verify_request.replace(stdin=_replayed_stdin(request.record.stdin, baseline.session), echo=False)
    verdict = oracle.judge(baseline.session)
    if baseline.session.outcome.get("outcome") == "failed_to_start":
        raise DuckError(f"{script} could not be started: {baseline.session.outcome.get('message')}",
                        baseline.session.outcome.get("hint") or "check that the program runs with python")
    if verdict.passed:
        return RepairResult(verdict, [], [], [], 0, time.monotonic() - started, oracle.name)
    program_in_copy = str(baseline.copy_root / workspace.script)
    failing = oracle.failing_step(baseline.session)
    suspects = suspicious_lines(baseline.session, program_in_copy, failing, _test_statuses(baseline.session))
    _say(request, f"the run failed ({verdict.reason}); suspicious lines: "
                  + ", ".join(str(s.line) for s in suspects[:5]))
    limits = candidate_limits(request.record.limits, baseline.session, pytest=isinstance(oracle, TestOracle))
    search = Search(request, workspace, runner, baseline, original, limits, started, failing)
    if not search.stopped():
        _enable_screening(runner, oracle, baseline.session, request, quick_baseline)
    from duck.repair.edits import candidate_edits, edit_pairs

    lines = [s.line for s in suspects]
    protect_inputs = not isinstance(oracle, TestOracle)  # the program itself holds the inputs
    functions_only = protect_inputs and _failed_inside_function(baseline.session, failing, program_in_copy)
    singles = candidate_edits(original, lines, names_seen(baseline.session, program_in_copy),
                              protect_inputs=protect_inputs, functions_only=functions_only,
                              scores={s.line: s.score for s in suspects})
    search.check_in_order(search.edit_proposals((e,) for e in _with_modules(search, singles, suspects, failing)))
    if request.backend is not None and not search.stopped():
        from duck.repair.model_edits import refine_proposals

        search.follow(refine_proposals(request.backend, oracle, original, baseline.session, str(workspace.script),
                                       request.problem, request.model_rounds))
    if all(f.degenerate for f in search.fixes) and not search.halted() \
            and search.tried < request.max_candidates:  # none yet, or only suspect ones
        top = [e for e in singles if e.kind != "variable"][:40] + [e for e in singles if e.kind == "variable"][:10]
        search.check_in_order(search.edit_proposals(edit_pairs(top, max(0, request.max_candidates - search.tried))),
                              offset=PAIRS_AFTER)
    if not search.cancelled():
        search.compare_unprobed([f for f in search.fixes if id(f) not in search.compared])
    runner.discard(baseline)
    ranked = sorted(search.fixes, key=lambda f: rank_key(f, search.order[id(f)]))
    fixes = ranked[:request.max_fixes]
    stopped = "cancelled" if search.cancelled() else ("deadline" if search.out_of_time() else None)
    return RepairResult(verdict, fixes, search.unverified, suspects, runner.runs,
                        time.monotonic() - started, oracle.name, recorded_runs=runner.recorded,
                        stopped=stopped, why_first=why_first(fixes), verified_count=len(ranked))


def _with_modules(search: "Search", singles: list[Edit], suspects: list[Suspect], failing: int | None) -> list[Edit]:
    """The program's edits merged with edits of the other files that ran (``duck.repair.targets``),
    by how suspicious their lines are; a module's edits stay inside its functions."""
    from duck.repair.edits import KIND_WEIGHT, candidate_edits

    session, root = search.baseline.session, search.baseline.copy_root
    score = {(None, s.line): s.score for s in suspects}
    lists = [singles]
    statuses = _test_statuses(session)
    for relative in module_files(session, root, search.workspace.script):
        try:
            text = (search.workspace.pristine / relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        in_copy = str(root / relative)
        ranked = suspicious_lines(session, in_copy, failing, statuses)
        score.update({(str(relative), s.line): s.score for s in ranked})
        edits = candidate_edits(text, [s.line for s in ranked if s.score > 0.01], names_seen(session, in_copy),
                                functions_only=True, scores={s.line: s.score for s in ranked})
        search.originals[str(relative)] = text
        lists.append([dataclasses.replace(e, file=str(relative)) for e in edits])
    if len(lists) == 1:
        return singles
    return list(heapq.merge(*lists, key=lambda e: -score.get((e.file, e.line), 0.0) * KIND_WEIGHT.get(e.kind, 0.5)))


def _failing_test(session: Session, failing: int | None) -> tuple[int, int] | None:
    """The steps of the test (module-level statement, test function) that failed."""
    for segment in test_segments(session, failing):
        if segment.failed and failing is not None and segment.first <= failing <= segment.last:
            return segment.first, segment.last
    return None


def _failing_tests(session: Session, failing: int | None, statuses: dict[str, bool]) -> list[tuple[int, int]]:
    """The steps of every test that failed (the one holding ``failing``, and those ``statuses`` knows)."""
    return [(segment.first, segment.last) for segment in test_segments(session, failing, statuses) if segment.failed]


def _test_statuses(session: Session) -> dict[str, bool]:
    """test name -> failed?, from a pytest summary the run printed, or for a program whose
    asserts each ran as a test (``duck.sandbox.each_assert``) from the recording ("line N",
    as ``test_segments`` names a module-level statement); empty for any other program."""
    statuses: dict[str, bool] = {}
    for node, status in pytest_results(session.stdout).items():
        name = node.rsplit("::", 1)[-1].split("[", 1)[0]
        statuses[name] = statuses.get(name, False) or status in ("FAILED", "ERROR")
    for line, failed in assert_outcomes(session).items():
        statuses[f"line {line}"] = failed
    return statuses


def _replayed_stdin(given: str | None, baseline: Session) -> str | None:
    if given == "inherit":
        return baseline.stdin
    return given


def _failed_inside_function(session: Session, failing: int | None, program: str) -> bool:
    """Whether the failure shows inside one of the program's functions (not its module-level code)."""
    if failing is None or not len(session):
        return False
    for frame in reversed(session.stack(failing)):
        if frame.file == program:
            return frame.func != "<module>"
    return False


COLLECT_AFTER = 40     # candidates still tried after the first one that verified (in the search's order)
PAIRS_AFTER = 1_000_000  # pairs of edits come after every single edit in the search's order

BARE_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _start_quick_baseline(runner: CandidateRunner, oracle: Oracle, request: RepairRequest, pool) -> Future | None:
    """The buggy program's untraced run, started beside its recording (None: it must wait for
    the recording, which first reads the input that every later run replays)."""
    if request.record.stdin == "inherit":
        return None
    env = BARE_PYTEST if isinstance(oracle, TestOracle) else {}
    return pool.submit(runner.run_quick, None, request.record.limits.timeout_s, env)


def _enable_screening(runner: CandidateRunner, oracle: Oracle, baseline: Session, request: RepairRequest,
                      started: Future | None) -> None:
    """Screen candidates untraced when an untraced run of the buggy program fails the same way.

    A pytest oracle runs pytest without its auto-loaded plugins (they can cost seconds per
    start) when every test of the file ends as it did in the recorded run, which had them;
    otherwise with them, like the recording.
    """
    env: dict[str, str] = {}
    quick = started.result() if started is not None else None
    if isinstance(oracle, TestOracle):
        if quick is None:
            quick = runner.run_quick(None, request.record.limits.timeout_s, BARE_PYTEST)
        results = pytest_results(baseline.stdout)
        if results and pytest_results(quick.stdout) == results:
            env = BARE_PYTEST
        else:
            quick = runner.run_quick(None, request.record.limits.timeout_s)
    elif quick is None:
        quick = runner.run_quick(None, request.record.limits.timeout_s)
    same = (not oracle.judge(quick).passed
            and quick.outcome.get("outcome") == baseline.outcome.get("outcome"))
    if not same:
        _say(request, "the program runs differently untraced; every candidate is recorded")
        return
    runner.quick_baseline = quick
    runner.quick_env = env
    runner.quick_timeout_s = quick_timeout(request.record.limits, quick)


class Search:
    """One search: its budget, its fixes so far, and the interface its proposers use.

    Proposers (the edit generator through ``edit_proposals``, a model through
    ``duck.repair.model_edits``) hand it ``Proposal``s and never touch the rest:

    - ``check_in_order(proposals)``: a ranked list, checked in parallel. Each proposal is
      screened untraced (``CandidateRunner.screen``); once one passes, the next ``COLLECT_AFTER``
      are still screened, so which ones pass depends on the order, never on which run ended
      first. Only the plausible ones are recorded, best first by what is known before a
      recording (``duck.repair.rank.before_recording_key``, with the probe's agreement), until
      ``max_fixes`` verified fixes are better than anything left unrecorded: the ranked list
      is the one that recording every plausible proposal would give.
    - ``follow(proposer)``: a generator that yields one proposal at a time and is sent each
      one's recorded ``RunResult`` (self-refine reads the failure of its last answer).
    - ``stopped()``: nothing more should be proposed.
    """

    def __init__(self, request: RepairRequest, workspace: Workspace, runner: CandidateRunner, baseline: RunResult,
                 original: str, limits: Limits, started: float, failing: int | None = None) -> None:
        self.request = request
        self.workspace = workspace
        self.runner = runner
        self.baseline = baseline
        self.original = original
        self.limits = limits
        self.started = started
        self.fixes: list[Fix] = []
        self.unverified: list[Fix] = []
        self.order: dict[int, int] = {}
        self.compared: set[int] = set()   # ids of fixes whose agreement the probe measured
        self.tried = 0
        self.seen_sources: set[tuple[str | None, str]] = {(None, original)}
        self.originals: dict[str | None, str] = {None: original}   # file (None: the program) -> its text
        self.failing_test = _failing_test(baseline.session, failing)
        self.statuses = _test_statuses(baseline.session)
        # the steps of every failing test: the probe leaves out calls recorded there
        self.failing_tests = _failing_tests(baseline.session, failing, self.statuses)

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.request.time_budget_s

    def cancelled(self) -> bool:
        if self.request.should_stop is not None and self.request.should_stop():
            self.runner.cancel()
            return True
        return False

    def halted(self) -> bool:
        """Cancelled or out of time: nothing more runs."""
        if self.cancelled() or self.out_of_time():
            self.runner.cancel()
            return True
        return False

    def stopped(self) -> bool:
        """Halted, or enough fixes: nothing more is tried."""
        return self.halted() or len(self.fixes) >= self.request.max_fixes

    def done(self) -> bool:
        """``stopped``, or the model-free candidates are used up."""
        return self.stopped() or self.tried >= self.request.max_candidates

    # ------------------------------------------------------------------ the proposers' interface
    def edit_proposals(self, combos: Iterable[tuple[Edit, ...]]) -> Iterator[Proposal]:
        """The edit generator's combinations (one edit, or a compatible pair) as proposals."""
        from duck.repair.edits import apply_edits

        for combo in combos:
            file = combo[0].file
            where = "" if file is None else f" of {file}"
            yield Proposal(apply_edits(self.originals[file], combo), "; ".join(
                f"{e.description} (line {e.line}{where})" for e in combo), "edit", file)

    def check_in_order(self, proposals: Iterable[Proposal], offset: int = 0) -> None:
        """Check a ranked list of proposals (see the class docstring); ``offset`` places them in
        the search's order after earlier lists."""
        window = [math.inf]  # the last position tried: shrinks to (first pass's position + COLLECT_AFTER)
        runner = self.runner

        def candidates():
            for position, proposal in enumerate(proposals):
                if position > window[0] or self.halted() or self.tried >= self.request.max_candidates:
                    return
                if self._is_new(proposal):
                    self.tried += 1
                    yield position, proposal

        def screen(item) -> RunResult:
            source = self._runnable(item[1])
            screened = runner.screen(source)
            # cut at the short timeout (a loop, or a busy machine): the recording's step cap decides now
            return runner.confirm(source, self.limits, screened.quick) if screened.undecided else screened

        check = screen if runner.screening else (lambda item: runner.verify(self._runnable(item[1]), self.limits))
        passed: list[tuple[int, Proposal, RunResult]] = []
        for (position, proposal), result in runner.verify_many(candidates(), check, self.halted):
            if result.verdict.passed:
                window[0] = min(window[0], position + COLLECT_AFTER)
                passed.append((position, proposal, result))
        passed = sorted((item for item in passed if item[0] <= window[0]), key=lambda item: item[0])
        self._keep_best([(offset + position, proposal, result) for position, proposal, result in passed])

    def follow(self, proposer: Generator[Proposal, RunResult, None]) -> None:
        """Check each proposal ``proposer`` yields by recording it, and send it the result."""
        result = None
        while not self.stopped():
            try:
                proposal = proposer.send(result)
            except StopIteration:
                return
            result = self.check(proposal)

    def check(self, proposal: Proposal) -> RunResult:
        """Record one proposal and judge it: a verified fix, else (when it asks) an unverified one."""
        if not self._is_new(proposal):
            return RunResult(proposal.source, None, None,
                             Verdict(False, "the same text was tried already", self.runner.oracle.name))
        source = self._runnable(proposal)
        if not compiles(proposal.source):
            result = RunResult(proposal.source, self.baseline.session, self.baseline.copy_root,
                               Verdict(False, "the proposal does not compile", self.runner.oracle.name))
        else:
            self.tried += 1
            result = self.runner.verify(source, self.limits, screen=False)
        if result.verdict.passed:
            self.add_fix(source, result, proposal.origin, proposal.description)
        elif proposal.keep_unverified:
            self.unverified.append(self.make_fix(source, result, proposal.origin, proposal.description,
                                                 verified=False))
        return result

    # ------------------------------------------------------------------ the search's own
    def _is_new(self, proposal: Proposal) -> bool:
        key = (proposal.file, proposal.source)
        if key in self.seen_sources or (proposal.origin == "edit" and not compiles(proposal.source)):
            return False
        self.seen_sources.add(key)
        return True

    @staticmethod
    def _runnable(proposal: Proposal) -> str:
        return proposal.source if proposal.file is None else FileSource(proposal.source, proposal.file)

    def _keep_best(self, passed: list[tuple[int, Proposal, RunResult]]) -> None:
        """Record the proposals that passed screening, best first, until the ranked list is
        settled (see the class docstring); keep every verified one. Proposals that were
        recorded already (screening off, or cut at its timeout) are fixes at once."""
        if not passed:
            return
        comparisons = self._compare([self._runnable(proposal) for _, proposal, _ in passed])
        entries = []
        for (position, proposal, result), comparison in zip(passed, comparisons):
            source = self._runnable(proposal)
            original = self._original_of(source)
            shape = degenerate_reason(original, str(source), None, None, buggy_file="", fixed_file="",
                                      mapping=line_map(str(source), original))
            ignores = comparison is not None and comparison.ignores_input is not None
            key = before_recording_key(bool(shape or ignores), lines_touched(original, str(source)),
                                       argument_name_gain(original, str(source)),
                                       comparison.agreed if comparison is not None else 0,
                                       redundancy_gain(original, str(source)))
            entries.append((key, position, proposal, result, comparison))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        batch = max(1, self.runner.jobs)
        index = 0
        while index < len(entries) and not self.halted():
            settled = [f for f in self.fixes if self._known_key(f) < entries[index][0]]
            if len(settled) >= self.request.max_fixes:
                break
            group = entries[index:index + batch]
            index += len(group)
            records = dict(self.runner.verify_many(
                range(len(group)), lambda i: group[i][3] if group[i][3].session is not None else
                self.runner.confirm(self._runnable(group[i][2]), self.limits, group[i][3].quick), self.halted))
            for i, (_, position, proposal, _, comparison) in enumerate(group):
                result = records.get(i)
                if result is None or not result.verdict.passed:
                    continue
                fix = self.add_fix(self._runnable(proposal), result, proposal.origin, proposal.description,
                                   position=position)
                self._note_comparison(fix, comparison)

    def _known_key(self, fix: Fix) -> tuple:
        return before_recording_key(bool(fix.degenerate), fix.size, fix.name_gain, fix.agreement,
                                    redundancy_gain(fix.original_source, fix.patched_source))

    def _original_of(self, source: str) -> str:
        return self.originals[str(source.path)] if isinstance(source, FileSource) else self.original

    def _compare(self, sources: list[str]) -> list[Comparison | None]:
        """The probe's comparison of each source with the buggy program, per edited file
        (``duck.repair.probe.compare``); None where nothing could be compared."""
        found: list[Comparison | None] = [None] * len(sources)
        session = self.baseline.session
        files = dict.fromkeys(s.path if isinstance(s, FileSource) else None for s in sources)
        for file in files:
            indices = [i for i, s in enumerate(sources) if (s.path if isinstance(s, FileSource) else None) == file]
            relative = self.workspace.script if file is None else Path(file)
            compared = compare(self.runner, session, str(self.baseline.copy_root / relative),
                               self.originals[None if file is None else str(file)],
                               [str(sources[i]) for i in indices], failing=self.failing_tests)
            for i, comparison in zip(indices, compared or ()):
                found[i] = comparison
        return found

    def compare_unprobed(self, fixes: list[Fix]) -> None:
        """The probe's agreement for fixes that came without it (a model's)."""
        if not fixes:
            return
        sources = [fix.patched_source if fix.file == Path(self.request.record.script).resolve()
                   else FileSource(fix.patched_source, self.relative(fix)) for fix in fixes]
        for fix, comparison in zip(fixes, self._compare(sources)):
            self._note_comparison(fix, comparison)

    def _note_comparison(self, fix: Fix, comparison: Comparison | None) -> None:
        self.compared.add(id(fix))
        if comparison is None:
            return
        fix.agreement, fix.probe_calls = comparison.agreed, comparison.answered
        if comparison.ignores_input and not fix.degenerate:
            fix.degenerate = f"`{comparison.ignores_input}` now gives one answer to every nearby input"

    def add_fix(self, source: str, result: RunResult, origin: str, description: str,
                position: int | None = None) -> Fix:
        fix = self.make_fix(source, result, origin, description, verified=True)
        self.order[id(fix)] = position if position is not None else 2 * PAIRS_AFTER + len(self.order)
        self.fixes.append(fix)
        _say(self.request, f"verified: {description}")
        return fix

    def relative(self, fix: Fix) -> Path:
        """The fixed file relative to the program's folder."""
        return fix.file.relative_to(self.workspace.root) if fix.file != Path(self.request.record.script).resolve() \
            else self.workspace.script

    def make_fix(self, source: str, result: RunResult, origin: str, description: str, *, verified: bool) -> Fix:
        from duck.repair.diverge import explain, first_divergence

        if isinstance(source, FileSource):  # a module the program imports
            relative, original = source.path, self.originals[str(source.path)]
            file = (self.workspace.root / relative).resolve()
        else:
            relative, original, file = self.workspace.script, self.original, Path(self.request.record.script).resolve()
        source = str(source)
        program = str(relative)
        divergence = first_divergence(
            self.baseline.session, result.session,
            buggy_relative=lambda p: self.workspace.relative(p, self.baseline.copy_root),
            fixed_relative=lambda p: self.workspace.relative(p, result.copy_root),
            program=program, buggy_source=original, fixed_source=source)
        diff = unified_diff(file, original, source)
        explanation = explain(divergence, self.baseline.session, result.session, result.verdict) if verified \
            else f"Not verified: {result.verdict.reason}."
        fix = Fix(file=file, original_source=original, patched_source=source,
                  diff=diff, explanation=explanation, verified=verified, origin=origin, description=description,
                  verdict=result.verdict, size=lines_touched(original, source),
                  kept_steps=divergence.step if divergence.step is not None else len(result.session),
                  line=first_changed_line(original, source))
        if verified:
            fix.name_gain = argument_name_gain(original, source)
            fix.behaviour_distance = behaviour_distance(
                self.baseline.session, result.session,
                buggy_relative=lambda p: self.workspace.relative(p, self.baseline.copy_root),
                fixed_relative=lambda p: self.workspace.relative(p, result.copy_root),
                program=program, mapping=line_map(source, original), failing=self.failing_test,
                statuses=self.statuses)
            fix.passing_distance = behaviour_distance(
                self.baseline.session, result.session,
                buggy_relative=lambda p: self.workspace.relative(p, self.baseline.copy_root),
                fixed_relative=lambda p: self.workspace.relative(p, result.copy_root),
                program=program, mapping=line_map(source, original), failing=self.failing_test,
                statuses=self.statuses, passing_only=True)
            fix.lines_run = lines_run(result.session, str(result.copy_root / relative))
            fix.degenerate = degenerate_reason(
                original, source, self.baseline.session, result.session,
                buggy_file=str(self.baseline.copy_root / relative),
                fixed_file=str(result.copy_root / relative), mapping=line_map(source, original))
        return fix


def search_fixes(request: RepairRequest) -> list[Fix]:
    """Verified fixes, best first (empty when none was found or the program already passes);
    the result's notes go to ``request.progress`` (the TUI shows them as it shows progress)."""
    result = search(request)
    for note in result.notes:
        _say(request, note)
    return result.fixes

