"""SemCoder's prompt formats, verbatim, and the execution-reasoning inference convention.

This module is the one place where prompt text is built: duck's explanations, the corpus
export and the trainer all call it, so a model trained here reads code exactly the way duck
shows it. It is stdlib only. It is not a parser of model output (see ``models.parse``) and
knows nothing about backends.

The four task templates are copied from the released SemCoder training code, typos
included ("a a problem", the space after "failure."), because the checkpoints were trained
on them. The inference prompts follow the released evaluation code byte for byte: the
CRUXEval monologue prompts (``experiments/cruxeval_prompts.py``, the backward one with its
``PYTHON]`` typo), the HumanEval/MBPP NL->code prompts (``experiments/run_evalplus.py``) and
the self-refine prompt (``experiments/run_refine_evalplus.py``); docs/semcoder.md lists each.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from typing import Literal

Task = Literal["nl", "forward", "backward", "refine"]

NL_TEMPLATE = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate "
    "and reliable <Code> according to <NL_Description>\n\n<NL_Description>\n{instruction}\n\n"
    "<Code>\n{response}"
)
FORWARD_TEMPLATE = (
    "Simulate the Execution: You are given a Python function and an assertion containing a "
    "function input. Complete the assertion containing the execution output corresponding to "
    "the given input in [ANSWER] and [/ANSWER] tags.\n{instruction}\n{response}"
)
BACKWARD_TEMPLATE = (
    "Deduce the Semantic Constraints: You are given a Python program and its expected output. "
    "Find one input such that executing the program with the input leads to the given output. "
    "Complete the assertion with one such input in between [ANSWER] and [/ANSWER].\n"
    "{instruction}\n{response}"
)
REFINE_TEMPLATE = (
    "Debug and Refine the Code: You are given a a problem to be implemented in Python, and a "
    "buggy code that tries to solve the problem but fails the test case.\nYou should firstly "
    "simulate the execution with the buggy code and the failed test to identify the root cause "
    "of the failure. \nThen, you should fix the bug and wrap the refined code in between "
    "[Refined] and [/Refined].\n{instruction}\n{response}"
)

TEMPLATES: dict[str, str] = {
    "nl": NL_TEMPLATE,
    "forward": FORWARD_TEMPLATE,
    "backward": BACKWARD_TEMPLATE,
    "refine": REFINE_TEMPLATE,
}

#: Generation for execution reasoning stops here (the closing tag itself is kept by parsers).
ANSWER_STOP = "[/ANSWER]"
REFINED_STOP = "[/Refined]"
MONOLOGUE_TRIGGER = "[MONOLOGUE]\n"
#: Line labels start at 4 for line 1: the `[L{i+4}]` convention of SemCoder's inference code.
LINE_LABEL_OFFSET = 4


def render_task(task: Task, instruction: str, response: str = "") -> str:
    """Fill one of the four SemCoder templates. With ``response=""`` this is the prompt."""
    try:
        template = TEMPLATES[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(TEMPLATES)}") from None
    return template.format(instruction=instruction, response=response)


def label_lines(code: str, offset: int = LINE_LABEL_OFFSET) -> str:
    """Suffix each non-empty code line with `` # [L{i+offset}]`` (i is the 1-based line number)."""
    out = []
    for i, line in enumerate(code.rstrip("\n").split("\n"), start=1):
        out.append(f"{line} # [L{i + offset}]" if line.strip() else line)
    return "\n".join(out)


def released_quotes(text: str) -> str:
    """Every ``'`` turned into ``"``, as the released CRUXEval loader does to the code and the
    input/output before building a prompt ("forward_monologue fine-tuning requires this")."""
    return text.replace("'", '"')


@dataclass(frozen=True)
class ExecutionQuestion:
    """One execution-reasoning question about ``code``.

    ``call`` is the call expression, e.g. ``f([1, 2])``. For a forward question the output
    is unknown (``??``); for a backward one the input is unknown and ``output`` is given.
    """

    code: str
    call: str = ""
    output: str = ""
    func: str = "f"

    def forward_assertion(self) -> str:
        return f"assert {self.call} == ??"

    def backward_assertion(self) -> str:
        return f"assert {self.func}(??) == {self.output}"


#: the released backward prompt opens its code block with ``PYTHON]`` (the ``[`` is missing);
#: the published CRUXEval-I numbers were measured with it, so it is kept
BACKWARD_BLOCK_OPEN = "PYTHON]"


def forward_instruction(question: ExecutionQuestion) -> str:
    """The ``{instruction}`` of a forward (output prediction) prompt, the released layout: the
    labelled code and ``assert f(<input>) == ??`` inside one [PYTHON] block."""
    return f"[PYTHON]\n{label_lines(question.code)}\n{question.forward_assertion()}\n[/PYTHON]"


def backward_instruction(question: ExecutionQuestion) -> str:
    """The ``{instruction}`` of a backward (input deduction) prompt, the released layout: the
    code without labels and ``assert f(??) == <output>`` inside the block, whose opening tag
    is ``PYTHON]``, and a blank line before the response."""
    code = question.code.rstrip("\n")
    return f"{BACKWARD_BLOCK_OPEN}\n{code}\n{question.backward_assertion()}\n[/PYTHON]\n"


def forward_prompt(question: ExecutionQuestion) -> str:
    """Full inference prompt for output prediction; the model continues with a monologue."""
    return render_task("forward", forward_instruction(question), MONOLOGUE_TRIGGER)


def backward_prompt(question: ExecutionQuestion) -> str:
    """Full inference prompt for input deduction; the model continues with a monologue."""
    return render_task("backward", backward_instruction(question), MONOLOGUE_TRIGGER)


def cruxeval_question(code: str, *, input: str | None = None, output: str | None = None) -> ExecutionQuestion:
    """A CRUXEval sample as the released loader asks it: quotes turned to ``"`` first; with
    ``input`` a forward question about ``f(<input>)``, with ``output`` a backward one."""
    if input is not None:
        return ExecutionQuestion(code=released_quotes(code), call=f"f({released_quotes(input)})")
    return ExecutionQuestion(code=released_quotes(code), output=released_quotes(output or ""))


def failed_test_text(call: str, expected: str) -> str:
    """A failed test as the released self-refine inputs show it: the call's value bound to
    ``retv``, then the assertion on it, each line ending in a newline."""
    return f"retv = {call}\nassert retv == {expected}\n"


def with_simulation(failed_test: str, simulation: str) -> str:
    """The failed test followed by the buggy run told as an execution simulation, as ``#`` comment
    lines: duck's addition to the released self-refine prompt (``duck fix --model`` and
    ``duck-train eval refine --trace``), the same telling a PyX-R rationale holds."""
    return failed_test + "".join(f"# {line}\n" for line in simulation.splitlines())


def refine_instruction(problem: str, buggy_code: str, failed_test: str) -> str:
    """The ``fault`` text of a PyX-R row and the ``{instruction}`` of a refine prompt, the
    released ``PROMPT_TEMPLATE``: the three parts are put in verbatim (not stripped)."""
    return (
        f"### Problem\n{problem}\n\n"
        f"### Buggy Solution\n```python\n{buggy_code}\n```\n\n"
        f"### Failed Test\n```python\n{failed_test}\n```\n"
    )


def refine_prompt(problem: str, buggy_code: str, failed_test: str) -> str:
    """Full inference prompt for debug-and-refine: the released one has an empty response
    (no ``[MONOLOGUE]`` trigger), the same text the model was trained to continue."""
    return render_task("refine", refine_instruction(problem, buggy_code, failed_test))


def nl_prompt(description: str, response: str = "") -> str:
    """Full inference prompt for NL -> code; ``response`` pre-fills the start of the answer."""
    return render_task("nl", description, response)


# ---- HumanEval(+) / MBPP(+), as the released run_evalplus.py asks them ------------------

CODE_FENCE = "```"


def humaneval_prompt(problem: str) -> str:
    """The released HumanEval prompt: the problem (signature + docstring) fenced in the
    instruction and again as the pre-filled response, which the model continues with the body."""
    code = problem.strip()
    instruction = f"Write a solution to the following problem:\n```python\n{code}\n```"
    return nl_prompt(instruction, f"```python\n{code}")


def mbpp_prompt(problem: str) -> str:
    """The released MBPP prompt: the docstring's text before its ``assert`` (ending with a
    period), then the assertion fenced; the response is pre-filled with an opening fence."""
    start, end = problem.index('"""'), problem.rindex('"""')
    text = problem[start + 3:end]
    at = text.index("assert")
    description = text[:at].strip()
    if not description.endswith("."):
        description += "."
    assertion = text[at:].strip()
    instruction = f"{description} Your code should satisfy the following assertion:\n```python\n{assertion}\n```"
    return nl_prompt(instruction, "```python")


def code_continuation(completion: str) -> str:
    """A completion of ``humaneval_prompt`` / ``mbpp_prompt`` cut at its first code fence; the
    released harness tests the benchmark's prompt followed by this text."""
    at = completion.find(CODE_FENCE)
    return completion if at == -1 else completion[:at]


#: the release's ``{instruction}`` for a coding problem with a solution (src/prompts.py
#: SRC_INSTRUCT_INSTRUCTION_PROMPT); duck uses it for CodeContests rows
CODING_PROBLEM_INSTRUCTION = "Write a solution to the following coding problem:\n{problem}"


def row_task(row: dict) -> Task:
    """Which template a PyX / PyX-R row selects: exactly one of its input fields is non-empty."""
    if row.get("fault"):
        return "refine"
    filled = [key for key in ("nl", "fwd_mnl", "bwd_mnl") if row.get(key)]
    if len(filled) != 1:
        raise ValueError(f"a PyX row needs exactly one of nl, fwd_mnl, bwd_mnl; got {filled or 'none'}")
    return {"nl": "nl", "fwd_mnl": "forward", "bwd_mnl": "backward"}[filled[0]]


def row_prompt(row: dict) -> tuple[str, str]:
    """(prompt, target) for a training row in the SemCoder schema; loss goes on the target only."""
    task = row_task(row)
    instruction = row["fault"] if task == "refine" else row[{"nl": "nl", "forward": "fwd_mnl", "backward": "bwd_mnl"}[task]]
    return render_task(task, instruction), row["response"]


# ---- lifting a region of code into a function (a loop, a basic block) --------------------
#
# A stretch of a traced run that is not a whole call becomes an execution question by
# lifting it into a function: its free variables become parameters (called with the values
# they had when the region began) and the variables it assigns become the returned value.
# duck's explanations and the corpus both ask about loops and blocks this way.


def region_names(code: str) -> tuple[list[str], list[str]]:
    """(names read before being assigned, names assigned) in a piece of code, in first-use order."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return [], []
    reads, writes, seen_write = [], [], set()
    nodes = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Name)),
        key=lambda n: (n.lineno, n.col_offset, isinstance(n.ctx, ast.Store)),
    )
    # an augmented assignment (x += 1) reads x first
    aug = {id(n.target) for n in ast.walk(tree) if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    for node in nodes:
        if isinstance(node.ctx, ast.Load) or id(node) in aug:
            if node.id not in seen_write and node.id not in reads:
                reads.append(node.id)
        if isinstance(node.ctx, ast.Store):
            seen_write.add(node.id)
            if node.id not in writes:
                writes.append(node.id)
    return reads, writes


def lift(code: str, params: list[str], results: list[str], name: str = "f") -> str:
    """Wrap ``code`` (any indentation) as ``def name(params): ...; return results``."""
    body = textwrap.dedent(code).rstrip("\n")
    lines = [f"def {name}({', '.join(params)}):"]
    lines += [("    " + ln) if ln.strip() else "" for ln in body.split("\n")]
    if results:
        lines.append("    return " + (results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"))
    return "\n".join(lines)
