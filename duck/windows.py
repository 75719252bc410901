"""Windows of a recorded run turned into SemCoder prompts: a call, a loop, a basic block, the
failing step, or the whole run.

A window is a stretch of steps of one frame plus the code that ran in it. To ask the model
about it in the format it was trained on (the released forward layout: the labelled code and
``assert f(<input>) == ??`` inside one ``[PYTHON]`` block, see ``models.prompts``), a window that is not a whole call is *lifted* into a
function: its free variables become parameters (called with the values they had when the
window began) and the variables it assigns become the returned tuple. The recording then
knows the true answer, so a window also carries what the grounding check compares against:
every value each variable took in the window and every value returned in it.

The lifting itself (``models.prompts.lift``, ``region_names``) is shared with the corpus,
so inference and training render loops and blocks the same way. This module builds text only: it does not
talk to a model (``duck.explain``) or judge claims (``duck.grounding``).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field

from models.prompts import ExecutionQuestion, forward_prompt, lift, region_names

SCOPES = ("step", "call", "loop", "failure", "run")


@dataclass
class Window:
    """One question about a stretch of the run."""

    kind: str  # "call", "loop", "block", "failure" or "run"
    question: ExecutionQuestion
    first_step: int
    last_step: int
    frame: int | None
    expected: str | None = None  # the true right-hand side of the assertion, when known
    raised: str | None = None  # "ValueError: ..." when the window ended in an exception
    observed: dict[str, list[str]] = field(default_factory=dict)
    returns: list[str] = field(default_factory=list)
    title: str = ""

    def prompt(self) -> str:
        return forward_prompt(self.question)


# ---- lifting source regions into functions ----------------------------------------------


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _call(name: str, args: list[str]) -> str:
    return f"{name}({', '.join(args)})"


def _source_lines(session, file: str) -> list[str]:
    return session.source(file).splitlines()


def _def_node(source: str, def_line: int) -> ast.AST | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if first <= def_line <= node.lineno:
                return node
    return None


# ---- what the trace observed in a window -------------------------------------------------


def _raised(session, frame: int):
    """The exception event that ended ``frame`` (its last event, or the one just before a
    ``return`` the tracer reports for the unwinding), else None."""
    steps = session.frame_steps(frame)
    for step in reversed(steps[-2:]):
        event = session.event(step)
        if event.kind == "exception":
            return event
    return None


def observe(session, first: int, last: int, frames: set[int] | None) -> tuple[dict[str, list[str]], list[str]]:
    """name -> distinct values in order, and the values returned, within steps first..last.

    ``frames`` limits the variables to those frames (None: every frame). Values come from the
    events' ``changes``, so the value a variable had when the window began is included via
    the first step's locals.
    """
    observed: dict[str, list[str]] = {}

    def add(name: str, value: str | None) -> None:
        if value is None:
            return
        values = observed.setdefault(name, [])
        if value not in values:
            values.append(value)

    start_frame = session.frame(first)
    if frames is None or start_frame in frames:
        for name, value in session.locals_at(first, start_frame).items():
            add(name, value)
    returns: list[str] = []
    unwinding: set[int] = set()  # frames an exception is passing through
    for event in session.events(first, last + 1):
        if frames is None or event.frame in frames:
            for name, value in event.changes.items():
                add(name, value)
        if event.kind == "exception":
            unwinding.add(event.frame)
        elif event.kind == "return" and event.value is not None and event.frame not in unwinding:
            returns.append(event.value)
        elif event.kind == "line":
            unwinding.discard(event.frame)  # the exception was caught
    return observed, returns


# ---- the windows -------------------------------------------------------------------------


def call_window(session, step: int, frame: int | None = None, kind: str = "call") -> Window:
    """The whole activation of the function running at ``step``: ``assert f(args) == ??``."""
    frame = session.frame(step) if frame is None else frame
    call_step = session.frame_call_step(frame)
    end_step = session.frame_end_step(frame)
    func = session.frame_func(frame)
    file = session.file(call_step)
    source = session.source(file)
    end_event = session.event(end_step)
    raised_event = _raised(session, frame)
    expected = end_event.value if end_event.kind == "return" and raised_event is None else None
    raised = f"{raised_event.exc_type}: {raised_event.exc_msg}" if raised_event is not None else None
    if func == "<module>":
        return run_window(session)
    node = _def_node(source, session.line(call_step))
    short = func.rsplit(".", 1)[-1]
    if node is not None:
        code = ast.get_source_segment(source, node, padded=True) or ""
        code = textwrap.dedent(code)
        params = [a.arg for a in node.args.posonlyargs + node.args.args]
        kwonly = [a.arg for a in node.args.kwonlyargs]
    else:
        code, params, kwonly = f"def {short}(...):\n    ...", [], []
    arguments = session.event(call_step).changes
    args = [arguments[p] for p in params if p in arguments]
    args += [f"{k}={arguments[k]}" for k in kwonly if k in arguments]
    extra = [k for k in arguments if k not in params and k not in kwonly]
    if node is not None and node.args.vararg and node.args.vararg.arg in arguments:
        star = arguments[node.args.vararg.arg]
        if star.startswith("(") and star.endswith(")"):
            inner = star[1:-1].rstrip(",").strip()
            if inner:
                args.append(inner)
        extra = [k for k in extra if k != node.args.vararg.arg]
    if node is not None and node.args.kwarg and node.args.kwarg.arg in arguments:
        args.append(f"**{arguments[node.args.kwarg.arg]}")
    observed, returns = observe(session, call_step, end_step, {frame})
    del extra
    question = ExecutionQuestion(code=code, call=_call(short, args), func=short)
    return Window(kind, question, call_step, end_step, frame, expected=expected, raised=raised,
                  observed=observed, returns=returns, title=f"the call {_call(short, args)}")


def _region_window(session, step: int, frame: int, first_line: int, last_line: int, kind: str, title: str) -> Window:
    file = session.file(step)
    lines = _source_lines(session, file)
    code = "\n".join(lines[first_line - 1:last_line])
    steps = [s for s in session.frame_steps(frame)]
    inside = [s for s in steps if first_line <= session.line(s) <= last_line and session.kind(s) == "line"]
    entry = min((s for s in inside), default=step)
    # the window ends at the first step of this frame after the region's last visit
    last_inside = max(inside, default=step)
    later = [s for s in steps if s > last_inside]
    exit_step = later[0] if later else last_inside
    reads, writes = region_names(code)
    entry_locals = session.locals_at(entry, frame)
    params, args = [], []
    for name in reads:
        value = entry_locals.get(name)
        if value is not None and _is_literal(value):
            params.append(name)
            args.append(value)
    results = [w for w in writes if session.value_at(w, exit_step, frame) is not None]
    exit_values = [session.value_at(w, exit_step, frame) for w in results]
    expected = None
    if results and all(v is not None for v in exit_values):
        expected = exit_values[0] if len(exit_values) == 1 else "(" + ", ".join(exit_values) + ")"
    name = "f"
    question = ExecutionQuestion(code=lift(code, params, results, name), call=_call(name, args), func=name)
    observed, returns = observe(session, entry, exit_step, {frame})
    return Window(kind, question, entry, exit_step, frame, expected=expected,
                  observed=observed, returns=returns, title=title)


def loop_window(session, step: int) -> Window | None:
    """The loop around ``step`` (all its iterations in this activation), lifted into a function."""
    position = session.loop_at(step)
    if position is None:
        return None
    frame = session.frame(step)
    return _region_window(session, step, frame, position.header_line, position.end_line, "loop",
                          f"the loop at line {position.header_line}")


def block_lines(source: str, line: int) -> tuple[int, int] | None:
    """The basic block holding ``line``: the run of simple statements around it in its suite."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    best = None
    for node in ast.walk(tree):
        for field_name in ("body", "orelse", "finalbody"):
            suite = getattr(node, field_name, None)
            if not isinstance(suite, list) or not suite or not isinstance(suite[0], ast.stmt):
                continue
            for i, stmt in enumerate(suite):
                if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno) and _simple(stmt):
                    lo = i
                    while lo > 0 and _simple(suite[lo - 1]):
                        lo -= 1
                    hi = i
                    while hi + 1 < len(suite) and _simple(suite[hi + 1]):
                        hi += 1
                    span = (suite[lo].lineno, suite[hi].end_lineno or suite[hi].lineno)
                    if best is None or span[1] - span[0] < best[1] - best[0]:
                        best = span
    return best


def _simple(stmt: ast.stmt) -> bool:
    return not isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
                                 ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Return,
                                 ast.Raise, ast.Break, ast.Continue, ast.Match))


def block_window(session, step: int) -> Window | None:
    frame = session.frame(step)
    file = session.file(step)
    span = block_lines(session.source(file), session.line(step))
    if span is None:
        return None
    return _region_window(session, step, frame, span[0], span[1], "block", f"lines {span[0]}-{span[1]}")


def run_window(session) -> Window:
    """The whole program: the module's code lifted into ``main()``."""
    first = session.first()
    file = session.file(first)
    source = session.source(file)
    code = lift(source, [], [], "main")
    question = ExecutionQuestion(code=code, call="main()", func="main")
    observed, returns = observe(session, first, session.last(), None)
    outcome = session.outcome or {}
    raised = None
    if outcome.get("outcome") == "exception" and outcome.get("exception"):
        raised = f"{outcome['exception'].get('type')}: {outcome['exception'].get('message')}"
    return Window("run", question, first, session.last(), None, expected="None" if raised is None else None,
                  raised=raised, observed=observed, returns=returns, title="the whole run")


def failure_window(session) -> Window | None:
    """The call in which the failure happened (the innermost frame that raised)."""
    step = session.exception_step()
    if step is None:
        return None
    window = call_window(session, step, kind="failure")
    window.title = f"the failing call {window.question.call}" if window.kind == "failure" else window.title
    return window


def window_for(session, step: int, scope: str) -> Window:
    """The window a scope asks about, falling back to the enclosing call (or the run)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; expected one of {SCOPES}")
    if scope == "run":
        return run_window(session)
    if scope == "failure":
        window = failure_window(session)
        if window is not None:
            return window
        scope = "call"
    if scope == "loop":
        window = loop_window(session, step)
        if window is not None:
            return window
    if scope == "step":
        window = block_window(session, step)
        if window is not None:
            return window
    return call_window(session, step)
