"""Worked examples that go before a question when a model writes corpus data (few-shot prompts).

They are written by hand in the style of the paper's monologues: a forward monologue
understands the function, names its key properties and constraints, then simulates the run in
plain words with concrete values, loop by loop; a backward monologue reasons from the output
back to *constraints* on the input ("the list must hold exactly two odd numbers whose sum is
8"), and only then picks one input that meets them; a refine answer simulates the failing run,
names the root cause and fixes it. The examples use small functions of their own (never the
sample being asked about, whose answer they would leak) and are built with ``models.prompts``,
so they show exactly the prompt layout of the question that follows them.

This module holds data and the function that lays it out; it samples nothing.
"""

from __future__ import annotations

import functools

from models.prompts import (ExecutionQuestion, backward_prompt, failed_test_text, forward_prompt, label_lines,
                            refine_prompt)

_CODE = (
    "def f(nums):\n"
    "    total = 0\n"
    "    for n in nums:\n"
    "        if n % 2:\n"
    "            total += n\n"
    "    return total\n"
)

_UNDERSTANDING = (
    "### Understanding the Function\n"
    "The function `f` takes a list `nums` and adds up only its odd elements: it starts a running "
    "`total` at 0, walks through the list once, and adds a number to `total` whenever `n % 2` is "
    "truthy, that is, whenever the number is odd. Even numbers are skipped. At the end it returns "
    "`total`.\n"
)

_PROPERTIES = (
    "### Key Properties and Constraints\n"
    "- The result is the sum of the odd numbers of `nums`; even numbers never change it.\n"
    "- An empty list, or a list with no odd number, gives 0.\n"
    "- Order does not matter, only which numbers are odd.\n"
    "- For negative numbers `n % 2` is 1 when `n` is odd, so negative odd numbers are added too.\n"
)

FORWARD_CALL = "f([3, 4, 5])"
FORWARD_RESPONSE = (
    "[MONOLOGUE]\n" + _UNDERSTANDING + "\n" + _PROPERTIES + "\n"
    "### Execution Simulation:\n"
    "Let's simulate `f([3, 4, 5])` step by step.\n"
    "1. [L6]: `total` is set to 0.\n"
    "2. [L7]: the loop starts over `[3, 4, 5]`.\n"
    "   - First iteration, `n = 3`: [L8] `3 % 2` is 1, which is truthy, so [L9] adds 3 and `total` becomes 3.\n"
    "   - Second iteration, `n = 4`: [L8] `4 % 2` is 0, so the addition is skipped and `total` stays 3.\n"
    "   - Third iteration, `n = 5`: [L8] `5 % 2` is 1, so [L9] adds 5 and `total` becomes 8.\n"
    "3. The loop is over, and [L10] returns `total`, which is 8.\n"
    "[/MONOLOGUE]\n"
    "[ANSWER]\n"
    "assert f([3, 4, 5]) == 8\n"
    "[/ANSWER]"
)

BACKWARD_OUTPUT = "8"
BACKWARD_RESPONSE = (
    "[MONOLOGUE]\n" + _UNDERSTANDING + "\n" + _PROPERTIES + "\n"
    "### Reverse Deduction\n"
    "- The final output is 8, so the odd numbers of `nums` must add up to exactly 8.\n"
    "- A single odd number can never be 8 (8 is even), so the list needs an even count of odd numbers: two odd "
    "numbers whose sum is 8 work, for instance 3 and 5, or 1 and 7.\n"
    "- Even numbers do not change the total, so the list may hold any of them as well; the simplest input "
    "has none.\n"
    "- Choosing the two odd numbers 3 and 5 meets every constraint: 3 + 5 = 8.\n"
    "[/MONOLOGUE]\n"
    "[ANSWER]\n"
    "assert f([3, 5]) == 8\n"
    "[/ANSWER]"
)

_PROBLEM = "Write a function `f(nums)` that returns the sum of the odd numbers in the list `nums`."
_BUGGY = (
    "def f(nums):\n"
    "    total = 0\n"
    "    for n in nums:\n"
    "        if n % 2 == 0:\n"
    "            total += n\n"
    "    return total"
)
_FAILED_CALL, _FAILED_EXPECTED = "f([3, 4, 5])", "8"
REFINE_RESPONSE = (
    "[MONOLOGUE]\n"
    "### Execution Simulation\n"
    "Let's run the failed test `f([3, 4, 5])` on the buggy solution.\n"
    "1. `total` starts at 0.\n"
    "2. `n = 3`: `3 % 2 == 0` is False, so 3 is skipped and `total` stays 0.\n"
    "3. `n = 4`: `4 % 2 == 0` is True, so 4 is added and `total` becomes 4.\n"
    "4. `n = 5`: `5 % 2 == 0` is False, so 5 is skipped and `total` stays 4.\n"
    "5. The function returns 4, but the test expects 8.\n"
    "\n"
    "### Root Cause Analysis\n"
    "The condition `n % 2 == 0` is true for even numbers, so the buggy solution sums the even numbers "
    "instead of the odd ones: it added 4 and skipped 3 and 5.\n"
    "\n"
    "### Bug Fixing\n"
    "The condition must select odd numbers: `n % 2 == 1` (which also holds for negative odd numbers in "
    "Python, since `-3 % 2` is 1).\n"
    "[/MONOLOGUE]\n"
    "\n"
    "[Refined]\n"
    "```python\n"
    "def f(nums):\n"
    "    total = 0\n"
    "    for n in nums:\n"
    "        if n % 2 == 1:\n"
    "            total += n\n"
    "    return total\n"
    "```\n"
    "[/Refined]"
)


@functools.lru_cache(maxsize=4)
def few_shot(task: str) -> str:
    """The worked example of ``task`` (``forward``, ``backward`` or ``refine``), laid out as a
    full prompt and its answer, followed by a blank line: what goes before the question."""
    if task == "forward":
        prompt = forward_prompt(ExecutionQuestion(_CODE, call=FORWARD_CALL))
        return prompt + FORWARD_RESPONSE[len("[MONOLOGUE]\n"):] + "\n\n"
    if task == "backward":
        prompt = backward_prompt(ExecutionQuestion(_CODE, output=BACKWARD_OUTPUT))
        return prompt + BACKWARD_RESPONSE[len("[MONOLOGUE]\n"):] + "\n\n"
    if task == "refine":
        return refine_prompt(_PROBLEM, _BUGGY, failed_test_text(_FAILED_CALL, _FAILED_EXPECTED)) + REFINE_RESPONSE + "\n\n"
    raise ValueError(f"no worked example for {task!r}")


def example_code() -> str:
    """The forward/backward examples' function, labelled as a forward prompt shows it (for tests)."""
    return label_lines(_CODE)
