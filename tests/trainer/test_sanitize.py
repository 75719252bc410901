"""EvalPlus's sanitize step (``trainer.eval.sanitize``), as the released evaluation applies it to
``prompt + completion`` before scoring: the longest parsable run of lines, then the imports and
what the entry point reaches."""

from __future__ import annotations

from trainer.eval import evalplus
from trainer.eval.sanitize import code_extract, sanitize

NOISY = '''Here is my solution:
import math
from typing import List

THRESH = 3

def helper(x):
    return x * THRESH

@cache
def decorated(y):
    return y

def g(xs: List[int]) -> int:
    """sum"""
    return sum(helper(x) for x in xs) + math.floor(0.5)

def unused():
    return 1

def g(xs):
    return 0

print(g([1, 2]))
assert g([1]) == 3
That is all.'''


def test_only_imports_and_what_the_entry_point_reaches_are_kept():
    assert sanitize(NOISY, "g") == (
        "import math\nfrom typing import List\nTHRESH = 3\ndef helper(x):\n    return x * THRESH\n"
        'def g(xs: List[int]) -> int:\n    """sum"""\n    return sum(helper(x) for x in xs) + math.floor(0.5)')


def test_without_an_entry_point_every_kept_definition_stays():
    kept = sanitize(NOISY)
    assert "def unused" in kept and "def helper" in kept
    assert "return 0" not in kept  # a second `g` is not kept: the first of a name wins
    assert "decorated" not in kept and "print(" not in kept and "assert" not in kept


def test_the_longest_parsable_run_of_lines_is_the_code():
    text = "Sure! Let me think.\ndef f(x):\n    return x\n\nThis works because f returns x."
    assert code_extract(text).strip() == "def f(x):\n    return x"
    assert sanitize("no code here", "f") == ""
    # a function without a return statement is not kept (EvalPlus's rule)
    assert sanitize("def f(x):\n    print(x)\n\ndef g():\n    return 1\n", "f") == ""


def test_solutions_are_the_sanitized_prompt_and_completion():
    task = evalplus.CodeTask("humaneval", "HumanEval/x", "from typing import List\n\ndef g(xs: List[int]) -> int:\n    \"\"\"sum\"\"\"\n",
                             "g", "    return sum(xs)\n", [], [], 0.0)
    completion = "\n    return sum(xs)\n\nprint(g([1]))\n```\nexplanation"
    assert evalplus.solution_from_completion(task, completion) == (
        'from typing import List\ndef g(xs: List[int]) -> int:\n    """sum"""\n\n    return sum(xs)')


def test_every_reference_solution_keeps_its_entry_point():
    """Sanitizing the benchmarks' own programs (prompt + canonical solution) keeps a program that
    parses and defines the entry point, as ``evalplus.sanitize`` does on them."""
    import ast

    from tests.shared_data import HUMANEVAL_PLUS, MBPP_PLUS
    from trainer.eval.data import load_evalplus

    for path, dataset in ((HUMANEVAL_PLUS, "humaneval"), (MBPP_PLUS, "mbpp")):
        for task in load_evalplus(path, dataset):
            tree = ast.parse(sanitize(task.reference, task.entry_point))
            assert any(getattr(node, "name", None) == task.entry_point for node in tree.body), task.task_id
