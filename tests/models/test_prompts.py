"""Prompt rendering against the exact strings of ../shared/DESIGN.md section 5."""

from models import prompts
from models.prompts import ExecutionQuestion, forward_prompt, backward_prompt, refine_prompt, nl_prompt

FORWARD = (
    "Simulate the Execution: You are given a Python function and an assertion containing a function input. "
    "Complete the assertion containing the execution output corresponding to the given input in [ANSWER] and "
    "[/ANSWER] tags.\n{instruction}\n{response}"
)
BACKWARD = (
    "Deduce the Semantic Constraints: You are given a Python program and its expected output. Find one input "
    "such that executing the program with the input leads to the given output. Complete the assertion with one "
    "such input in between [ANSWER] and [/ANSWER].\n{instruction}\n{response}"
)
REFINE = (
    "Debug and Refine the Code: You are given a a problem to be implemented in Python, and a buggy code that "
    "tries to solve the problem but fails the test case.\nYou should firstly simulate the execution with the buggy "
    "code and the failed test to identify the root cause of the failure. \nThen, you should fix the bug and wrap "
    "the refined code in between [Refined] and [/Refined].\n{instruction}\n{response}"
)
NL = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "<Code> according to <NL_Description>\n\n<NL_Description>\n{instruction}\n\n<Code>\n{response}"
)

CODE = "def f(xs):\n    total = 0\n\n    for x in xs:\n        total += x\n    return total\n"


def test_templates_are_verbatim():
    assert prompts.FORWARD_TEMPLATE == FORWARD
    assert prompts.BACKWARD_TEMPLATE == BACKWARD
    assert prompts.REFINE_TEMPLATE == REFINE
    assert prompts.NL_TEMPLATE == NL


def test_forward_prompt_follows_the_inference_convention():
    text = forward_prompt(ExecutionQuestion(code=CODE, call="f([1, 2])"))
    expected_block = (
        "[PYTHON]\ndef f(xs): # [L5]\n    total = 0 # [L6]\n\n    for x in xs: # [L8]\n"
        "        total += x # [L9]\n    return total # [L10]\n[/PYTHON]\nassert f([1, 2]) == ??"
    )
    assert text == FORWARD.format(instruction=expected_block, response="[MONOLOGUE]\n")
    assert text.endswith("assert f([1, 2]) == ??\n[MONOLOGUE]\n")


def test_backward_refine_and_nl_prompts():
    back = backward_prompt(ExecutionQuestion(code="def f(x):\n    return x + 1", output="3"))
    assert back.startswith("Deduce the Semantic Constraints:")
    assert back.endswith("[/PYTHON]\nassert f(??) == 3\n[MONOLOGUE]\n")
    refine = refine_prompt("Add one.", "def g(x):\n    return x", "assert g(1) == 2")
    assert "the failure. \nThen," in refine
    assert "### Problem\nAdd one.\n\n### Buggy Solution\n```python\ndef g(x):\n    return x\n```\n\n### Failed Test\n```python\nassert g(1) == 2\n```\n" in refine
    assert nl_prompt("Sort a list.") == NL.format(instruction="Sort a list.", response="")
