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


def test_forward_prompt_follows_the_released_layout():
    """The assert is inside the [PYTHON] block; each non-empty line carries `# [L{i+4}]`."""
    text = forward_prompt(ExecutionQuestion(code=CODE, call="f([1, 2])"))
    expected_block = (
        "[PYTHON]\ndef f(xs): # [L5]\n    total = 0 # [L6]\n\n    for x in xs: # [L8]\n"
        "        total += x # [L9]\n    return total # [L10]\nassert f([1, 2]) == ??\n[/PYTHON]"
    )
    assert text == FORWARD.format(instruction=expected_block, response="[MONOLOGUE]\n")
    assert text.endswith("assert f([1, 2]) == ??\n[/PYTHON]\n[MONOLOGUE]\n")


def test_backward_prompt_follows_the_released_layout():
    """`PYTHON]` (the release's typo), no labels, the assert inside, a blank line, [MONOLOGUE]."""
    back = backward_prompt(ExecutionQuestion(code="def f(x):\n    return x + 1", output="3"))
    assert back == (
        "Deduce the Semantic Constraints: You are given a Python program and its expected output. Find one input "
        "such that executing the program with the input leads to the given output. Complete the assertion with one "
        "such input in between [ANSWER] and [/ANSWER].\nPYTHON]\ndef f(x):\n    return x + 1\n"
        "assert f(??) == 3\n[/PYTHON]\n\n[MONOLOGUE]\n"
    )


def test_refine_and_nl_prompts():
    refine = refine_prompt("Add one.", "def g(x):\n    return x", "retv = g(1)\nassert retv == 2\n")
    assert "the failure. \nThen," in refine
    assert refine.endswith(
        "[/Refined].\n### Problem\nAdd one.\n\n### Buggy Solution\n```python\ndef g(x):\n    return x\n```\n\n"
        "### Failed Test\n```python\nretv = g(1)\nassert retv == 2\n\n```\n\n"
    )
    assert prompts.failed_test_text("g(1, [2])", "3") == "retv = g(1, [2])\nassert retv == 3\n"
    assert nl_prompt("Sort a list.") == NL.format(instruction="Sort a list.", response="")


def test_humaneval_and_mbpp_prompts():
    problem = 'def add(a, b):\n    """Add two numbers."""\n'
    assert prompts.humaneval_prompt(problem) == NL.format(
        instruction='Write a solution to the following problem:\n```python\ndef add(a, b):\n    """Add two numbers."""\n```',
        response='```python\ndef add(a, b):\n    """Add two numbers."""',
    )
    mbpp = '"""\nWrite a function to add two numbers\nassert add(1, 2) == 3\n"""\n'
    assert prompts.mbpp_prompt(mbpp) == NL.format(
        instruction="Write a function to add two numbers. Your code should satisfy the following assertion:\n"
                    "```python\nassert add(1, 2) == 3\n```",
        response="```python",
    )
    assert prompts.code_continuation("\n    return a + b\n```\nmore") == "\n    return a + b\n"
    assert prompts.code_continuation("\n    return a + b") == "\n    return a + b"


def test_cruxeval_question_turns_quotes_like_the_released_loader():
    question = prompts.cruxeval_question("def f(s):\n    return s + 'a'", input="'b'")
    assert question.code == 'def f(s):\n    return s + "a"' and question.call == 'f("b")'
    assert prompts.cruxeval_question("def f(s):\n    return s", output="'x'").output == '"x"'
