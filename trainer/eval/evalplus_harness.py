"""The code that runs *inside* a sandbox worker to score HumanEval+ / MBPP+ solutions.

``trainer.eval.evalplus`` ships this file's source to ``corpus.sandbox`` as a job's code and
calls ``check_solution(task, solution)``: for each input, run the canonical solution on a
deep copy (timed, as EvalPlus's ground truth is), then the candidate, and compare the two
outputs with EvalPlus's rules (exact ``==``, the special oracles for HumanEval/32 and four
MBPP tasks, set equality for eight MBPP tasks, not-None for three, float tolerance ``atol``
with ``rtol=1e-7``, 1e-6 where the expected value is a float), stopping at the first failure.

The comparison follows ``evalplus.eval.check_output`` and the input decoding follows
``evalplus.data.mbpp.mbpp_deserialize_inputs`` (EvalPlus, Apache-2.0), re-written here because
the package pulls in a dozen hosted-API clients and numpy cannot be imported in the sandbox.
This module is stdlib only and does no process management: the sandbox does.
"""

from __future__ import annotations

import copy
import math
import signal
import time

#: EvalPlus's defaults (evalplus.config): a per-input limit of max(1 s, 4 x the canonical time)
MIN_TIME_LIMIT_S = 1.0
GT_TIME_LIMIT_FACTOR = 4.0
#: EvalPlus caps a task's total candidate time at 60 s (EVALPLUS_TIMEOUT_PER_TASK)
TASK_TIME_CAP_S = 60.0

MBPP_OUTPUT_NOT_NONE_TASKS = ("check_str", "text_match_three", "text_starta_endb")
MBPP_OUTPUT_SET_EQ_TASKS = (
    "similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
    "larg_nnum", "intersection_array", "find_dissimilar", "Diff",
)

_TUPLE_ARGS = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596,
               616, 630, 726, 740, 744, 809}
_TUPLE_IN_LISTS = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_FIRST_ARG_LIST_OF_TUPLES = {75, 413, 444, 753}
_FIRST_ARG_TUPLE = {250, 405, 446, 617, 720, 763, 808}
_NESTED_TUPLES = {259, 401, 445}
_ALL_TUPLES = {580, 615, 791}


def _all_tuples(value):
    if isinstance(value, list):
        return tuple(_all_tuples(item) for item in value)
    return value


def decode_inputs(dataset: str, task_id: str, inputs: list) -> list:
    """Turn the JSON inputs of a task into the Python values EvalPlus calls with."""
    if dataset != "mbpp":
        return inputs
    n = int(task_id.split("/")[-1])
    if n in _TUPLE_ARGS:
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if n in _TUPLE_IN_LISTS:
        return [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
    if n in _FIRST_ARG_LIST_OF_TUPLES:
        return [[[tuple(lst) for lst in inp[0]]] + [inp[1]] for inp in inputs]
    if n in (106, 750):
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if n == 115:
        return [[[set(item) if isinstance(item, list) and len(item) else {} for item in inp[0]]] for inp in inputs]
    if n == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if n in _FIRST_ARG_TUPLE:
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if n in _NESTED_TUPLES:
        inputs = [[[tuple(lst) for lst in lst_lst] for lst_lst in inp] for inp in inputs]
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if n == 278:
        inputs = [[[tuple(item) if isinstance(item, list) else item for item in inp[0]]] for inp in inputs]
        return [[tuple(lst) for lst in inp] for inp in inputs]
    if n == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if n == 722:
        return [[{key: tuple(value) for key, value in inp[0].items()}] + inp[1:] for inp in inputs]
    if n == 252:
        return [[complex(inp[0])] for inp in inputs]
    if n in _ALL_TUPLES:
        return [_all_tuples(inp) for inp in inputs]
    return inputs


def _surface_area(base_edge, height):  # Mbpp/581
    slant_height = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant_height) / 2)


def _digit_distance_nums(num1, num2):  # Mbpp/558
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width)))


def _poly(xs, x):  # HumanEval/32
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def is_floats(x) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def _close(a, b, rtol: float, atol: float) -> bool:
    """``numpy.isclose`` for two numbers (inf equals inf of the same sign; nan never equal)."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return allclose(a, b, rtol=rtol, atol=atol)
    try:
        fa, fb = complex(a), complex(b)
    except (TypeError, ValueError):
        return False
    if fa == fb:
        return True
    if any(math.isinf(v) or math.isnan(v) for v in (fa.real, fa.imag, fb.real, fb.imag)):
        return False
    return abs(fa - fb) <= atol + rtol * abs(fb)


def allclose(out, exp, *, rtol: float = 1e-07, atol: float = 1e-6) -> bool:
    """``numpy.allclose`` for numbers and (nested) sequences of equal shape."""
    if isinstance(out, (list, tuple)) and isinstance(exp, (list, tuple)):
        return len(out) == len(exp) and all(_close(a, b, rtol, atol) for a, b in zip(out, exp))
    if isinstance(out, (list, tuple)) or isinstance(exp, (list, tuple)):
        # numpy broadcasts a scalar against a sequence
        seq, scalar = (out, exp) if isinstance(out, (list, tuple)) else (exp, out)
        return all(_close(a, scalar, rtol, atol) if seq is out else _close(scalar, a, rtol, atol) for a in seq)
    return _close(out, exp, rtol, atol)


def check_output(inp, out, exp, atol: float, dataset: str, entry_point: str) -> bool:
    """Whether ``out`` is an acceptable output for ``inp`` (EvalPlus's ``check_output``)."""
    exact_match = out == exp
    if dataset == "mbpp":
        if entry_point == "are_equivalent":  # Mbpp/164
            exact_match = True
        elif entry_point == "sum_div":  # Mbpp/295
            exact_match = exact_match or out == 0
        elif entry_point == "surface_Area":  # Mbpp/581
            exact_match = exact_match or abs(out - _surface_area(*inp)) <= atol
        elif entry_point == "digit_distance_nums":  # Mbpp/558
            exact_match = exact_match or out == _digit_distance_nums(*inp)
        elif entry_point in MBPP_OUTPUT_SET_EQ_TASKS:
            exact_match = set(out) == set(exp)
        elif entry_point in MBPP_OUTPUT_NOT_NONE_TASKS:
            exact_match = out == exp if isinstance(out, bool) else exp == (out is not None)
    if dataset == "humaneval" and entry_point == "find_zero":
        return abs(_poly(*inp, out)) <= atol
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        if type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        return allclose(out, exp, rtol=1e-07, atol=atol)
    return bool(exact_match)


def _inputs(task: dict) -> list:
    return decode_inputs(task["dataset"], task["task_id"], task["inputs"])


class CandidateTooSlow(Exception):
    """Raised inside a candidate by the CPU timer when it passes its per-input limit."""


def _on_cpu_timer(signum, frame):  # noqa: ARG001 - signal handler signature
    raise CandidateTooSlow("ran past its time limit")


class ReferenceFailed(Exception):
    """The canonical solution itself raised: a broken benchmark file, not a wrong candidate."""


def check_solution(task: dict, solution: str) -> dict:
    """Score ``solution`` on the task's inputs, input by input; stops at the first failure.

    Each input is first given (as a deep copy) to the canonical solution, timed, then to the
    candidate, whose limit is max(1 s, 4 x that time), and the two outputs are compared. So
    no expected output is ever stored or shipped (some are hundreds of MB).

    Returns ``{"passed": bool, "checked": n, "failed_index": i | None, "reason": str,
    "test": str}``; ``reason`` is ``""``, ``"wrong output"``, ``"too slow"`` or
    ``"<ExceptionType>: message"``; ``test`` is the failing input as an assertion
    (``assert f(1, 2) == 3``) for a self-refine prompt.
    """
    reference: dict = {"__name__": "__evalplus__"}
    exec(compile(task["reference"], "<canonical>", "exec"), reference)
    truth = reference[task["entry_point"]]
    not_none = task["dataset"] == "mbpp" and task["entry_point"] in MBPP_OUTPUT_NOT_NONE_TASKS
    namespace: dict = {"__name__": "__evalplus__"}  # so a `if __name__ == "__main__":` block does not run
    try:
        exec(compile(solution, "<solution>", "exec"), namespace)
        fn = namespace[task["entry_point"]]
    except BaseException as error:  # noqa: BLE001 - the candidate's failure is the result
        return {"passed": False, "checked": 0, "failed_index": None, "reason": _reason(error), "test": ""}
    budget = TASK_TIME_CAP_S
    signal.signal(signal.SIGVTALRM, _on_cpu_timer)
    for i, inp in enumerate(_inputs(task)):
        args = copy.deepcopy(inp)
        start = time.perf_counter()
        try:
            exp = truth(*args)
        except Exception as error:  # noqa: BLE001
            raise ReferenceFailed(f"{task['task_id']} input {i}: {_reason(error)}") from None
        limit = max(MIN_TIME_LIMIT_S, GT_TIME_LIMIT_FACTOR * (time.perf_counter() - start))
        if not_none:
            exp = exp is not None
        start = time.perf_counter()
        # a CPU-time timer (the sandbox's own wall-clock alarm stays untouched) cuts a loop
        signal.setitimer(signal.ITIMER_VIRTUAL, limit + 0.05)
        try:
            out = fn(*inp)
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            elapsed = time.perf_counter() - start
            ok = check_output(inp, out, exp, task["atol"], task["dataset"], task["entry_point"])
        except CandidateTooSlow:
            return _failure(task, i, inp, exp, "too slow")
        except Exception as error:  # noqa: BLE001 - a sandbox timeout (BaseException) passes on
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            return _failure(task, i, inp, exp, _reason(error))
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        budget -= elapsed
        if elapsed > limit or budget < 0:
            return _failure(task, i, inp, exp, "too slow")
        if not ok:
            return _failure(task, i, inp, exp, "wrong output")
    return {"passed": True, "checked": len(task["inputs"]), "failed_index": None, "reason": "", "test": ""}


#: longest failing-test assertion handed back (a refine prompt must stay readable)
TEST_CHARS = 1500


def _failure(task: dict, index: int, inp, exp, reason: str) -> dict:
    args = ", ".join(repr(a) for a in inp)
    test = f"assert {task['entry_point']}({args}) == {exp!r}"
    if len(test) > TEST_CHARS:
        test = test[:TEST_CHARS] + " ..."
    return {"passed": False, "checked": index, "failed_index": index, "reason": reason, "test": test}


def _reason(error: BaseException) -> str:
    try:
        message = str(error)
    except Exception:  # noqa: BLE001
        message = "<str() raised>"
    return f"{type(error).__name__}: {message[:300]}"
