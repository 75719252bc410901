"""EvalPlus's rules for HumanEval+ / MBPP+, applied in duck's process to outputs that came
back from the sandbox as data.

``decode_inputs`` turns a task's JSON inputs into the values EvalPlus calls with (tuples,
sets, complex numbers for some MBPP tasks); ``check_output(inp, out, exp, ...)`` says whether
an output is acceptable: exact ``==``, the special oracles for HumanEval/32 and four MBPP
tasks, set equality for eight MBPP tasks, not-None for three, float tolerance ``atol`` with
``rtol=1e-7``, 1e-6 where the expected value is a float. The time limits are EvalPlus's too.

The comparison follows ``evalplus.eval.check_output`` and the input decoding follows
``evalplus.data.mbpp.mbpp_deserialize_inputs`` (EvalPlus, Apache-2.0), re-written here because
the package pulls in a dozen hosted-API clients. This module is stdlib only; it runs no
solution (``trainer.eval.evalplus`` has them run confined) and is never given to one.
"""

from __future__ import annotations

import math

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
