"""The fix suite: small programs, each with one planted bug, its oracle and held-out inputs.

Each case gives the *correct* program, the bug as a (correct text -> buggy text) replacement,
the oracle duck is given (the ``__main__`` block prints for ``expect``, asserts for
``asserts``, a pytest file for ``test``), and held-out calls that duck never sees: after a
fix, ``benchmarks/fix_suite.py`` calls them on the fixed program and compares with the
correct program's answers. ``edits`` is how many token-level edits undo the bug.
``python benchmarks/fixes/cases.py`` writes ``benchmarks/fixes/<name>/`` (prog.py, case.json
and, for test cases, test_prog.py) from this table.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

CASES = [
    dict(name="sum_to_n", cls="off-by-one", edits=1, oracle="expect",
         code="""
def sum_to_n(n):
    total = 0
    for i in range(1, n + 1):
        total += i
    return total
""", bug=("range(1, n + 1)", "range(1, n)"), main=["sum_to_n(5)", "sum_to_n(1)"],
         heldout=["sum_to_n(10)", "sum_to_n(0)", "sum_to_n(3)"]),
    dict(name="largest", cls="wrong comparison", edits=1, oracle="expect",
         code="""
def largest(xs):
    best = xs[0]
    for x in xs:
        if x > best:
            best = x
    return best
""", bug=("x > best", "x < best"), main=["largest([3, 9, 4])"],
         heldout=["largest([1])", "largest([-5, -2, -9])", "largest([7, 7, 8, 1])"]),
    dict(name="count_vowels", cls="negated condition", edits=1, oracle="expect",
         code="""
def count_vowels(s):
    n = 0
    for ch in s.lower():
        if ch in "aeiou":
            n += 1
    return n
""", bug=('ch in "aeiou"', 'ch not in "aeiou"'), main=["count_vowels('Quack')"],
         heldout=["count_vowels('')", "count_vowels('xyz')", "count_vowels('AEIOU and y')"]),
    dict(name="factorial", cls="wrong base case", edits=1, oracle="expect",
         code="""
def factorial(n):
    if n == 0:
        return 1
    return n * factorial(n - 1)
""", bug=("        return 1\n", "        return 0\n"), main=["factorial(5)"],
         heldout=["factorial(0)", "factorial(1)", "factorial(7)"]),
    dict(name="fib", cls="wrong base case", edits=1, oracle="expect",
         code="""
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
""", bug=("n < 2", "n < 1"), main=["fib(7)"], heldout=["fib(0)", "fib(1)", "fib(10)"]),
    dict(name="palindrome", cls="wrong comparison", edits=1, oracle="asserts",
         code="""
def is_palindrome(s):
    s = s.lower()
    return s == s[::-1]
""", bug=("s == s[::-1]", "s != s[::-1]"), main=["is_palindrome('Level')", "is_palindrome('duck')"],
         heldout=["is_palindrome('')", "is_palindrome('abca')", "is_palindrome('Noon')"]),
    dict(name="average", cls="wrong operator", edits=1, oracle="expect",
         code="""
def average(xs):
    return sum(xs) / len(xs)
""", bug=("sum(xs) / len(xs)", "sum(xs) // len(xs)"), main=["average([1, 2, 3, 4])"],
         heldout=["average([5])", "average([1, 2])", "average([-3, 4, 10])"]),
    dict(name="last_item", cls="off-by-one index", edits=1, oracle="expect",
         code="""
def last_item(xs):
    return xs[len(xs) - 1]
""", bug=("xs[len(xs) - 1]", "xs[len(xs)]"), main=["last_item([4, 5, 6])"],
         heldout=["last_item([1])", "last_item(['a', 'b'])", "last_item([0, 0, 9])"]),
    dict(name="first_n", cls="wrong slice", edits=1, oracle="expect",
         code="""
def first_n(xs, n):
    return xs[:n]
""", bug=("xs[:n]", "xs[:n - 1]"), main=["first_n([1, 2, 3, 4], 2)"],
         heldout=["first_n([1, 2, 3], 3)", "first_n([], 2)", "first_n([9, 8, 7, 6], 1)"]),
    dict(name="reverse_words", cls="wrong function", edits=1, oracle="expect",
         code="""
def reverse_words(text):
    words = text.split()
    return " ".join(reversed(words))
""", bug=("reversed(words)", "sorted(words)"), main=["reverse_words('the quick brown fox')"],
         heldout=["reverse_words('b a')", "reverse_words('one')", "reverse_words('x y z w')"]),
    dict(name="square_all", cls="missing return", edits=1, oracle="expect",
         code="""
def square_all(xs):
    out = []
    for x in xs:
        out.append(x * x)
    return out
""", bug=("        out.append(x * x)\n    return out\n", "        out.append(x * x)\n"),
         main=["square_all([1, 2, 3])"], heldout=["square_all([])", "square_all([-2])", "square_all([4, 5])"]),
    dict(name="total_price", cls="wrong variable", edits=1, oracle="expect",
         code="""
def total_price(prices, qty):
    total = 0
    for p in prices:
        total += p * qty
    return total
""", bug=("p * qty", "p * p"), main=["total_price([2, 3], 4)"],
         heldout=["total_price([1, 1, 1], 2)", "total_price([], 5)", "total_price([10], 0)"]),
    dict(name="flatten", cls="wrong method", edits=1, oracle="expect",
         code="""
def flatten(groups):
    out = []
    for g in groups:
        out.extend(g)
    return out
""", bug=("out.extend(g)", "out.append(g)"), main=["flatten([[1, 2], [3]])"],
         heldout=["flatten([])", "flatten([[], [4]])", "flatten([[1], [2], [3, 4]])"]),
    dict(name="shout", cls="wrong method", edits=1, oracle="expect",
         code="""
def shout(s):
    return s.upper() + "!"
""", bug=("s.upper()", "s.lower()"), main=["shout('Hey')"],
         heldout=["shout('')", "shout('quack')", "shout('MiXeD 1')"]),
    dict(name="c_to_f", cls="wrong constant", edits=1, oracle="expect",
         code="""
def c_to_f(c):
    return c * 9 / 5 + 32
""", bug=("+ 32", "+ 31"), main=["c_to_f(100)"], heldout=["c_to_f(0)", "c_to_f(-40)", "c_to_f(37)"]),
    dict(name="binary_search", cls="wrong comparison", edits=1, oracle="asserts",
         code="""
def binary_search(xs, target):
    lo, hi = 0, len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == target:
            return mid
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
""", bug=("while lo <= hi", "while lo < hi"),
         main=["binary_search([1, 3, 5, 7], 7)", "binary_search([1, 3, 5, 7], 1)", "binary_search([1, 3], 2)"],
         heldout=["binary_search([2, 4, 6, 8, 10], 10)", "binary_search([5], 5)", "binary_search([], 1)",
                  "binary_search([1, 2, 3, 4, 5, 6], 4)"]),
    dict(name="count_positive", cls="wrong comparison", edits=1, oracle="asserts",
         code="""
def count_positive(xs):
    n = 0
    for x in xs:
        if x > 0:
            n += 1
    return n
""", bug=("x > 0", "x >= 0"), main=["count_positive([0, 1, -2, 3])"],
         heldout=["count_positive([])", "count_positive([0, 0])", "count_positive([5, -5, 6])"]),
    dict(name="gcd", cls="swapped operands", edits=1, oracle="expect",
         code="""
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a
""", bug=("a, b = b, a % b", "a, b = b, b % a"), main=["gcd(12, 18)", "gcd(7, 3)"],
         heldout=["gcd(100, 75)", "gcd(9, 0)", "gcd(17, 51)"]),
    dict(name="power", cls="wrong operator", edits=1, oracle="expect",
         code="""
def power(base, exp):
    result = 1
    for _ in range(exp):
        result *= base
    return result
""", bug=("result *= base", "result += base"), main=["power(2, 5)"],
         heldout=["power(3, 0)", "power(5, 2)", "power(10, 3)"]),
    dict(name="argmin", cls="off-by-one constant", edits=1, oracle="expect",
         code="""
def argmin(xs):
    best = 0
    for i in range(1, len(xs)):
        if xs[i] < xs[best]:
            best = i
    return best
""", bug=("range(1, len(xs))", "range(2, len(xs))"), main=["argmin([4, 1, 3])"],
         heldout=["argmin([1, 2, 3])", "argmin([3, 2, 1])", "argmin([5, 0, 5, 0])"]),
    dict(name="clamp", cls="wrong function (two edits)", edits=2, oracle="expect",
         code="""
def clamp(x, lo, hi):
    return max(lo, min(x, hi))
""", bug=("max(lo, min(x, hi))", "min(lo, max(x, hi))"), main=["clamp(5, 0, 10)", "clamp(-3, 0, 10)", "clamp(12, 0, 10)"],
         heldout=["clamp(0, 0, 0)", "clamp(7, 1, 3)", "clamp(2, 1, 3)"]),
    dict(name="is_even", cls="wrong constant", edits=1, oracle="expect",
         code="""
def is_even(n):
    return n % 2 == 0
""", bug=("== 0", "== 1"), main=["is_even(4)", "is_even(7)"], heldout=["is_even(0)", "is_even(-3)", "is_even(10)"]),
    dict(name="count_words", cls="off-by-one", edits=1, oracle="expect",
         code="""
def count_words(s):
    return len(s.split())
""", bug=("len(s.split())", "len(s.split()) - 1"), main=["count_words('a b c')"],
         heldout=["count_words('')", "count_words('one')", "count_words('  two  words ')"]),
    dict(name="even_positive", cls="wrong boolean operator", edits=1, oracle="expect",
         code="""
def even_positive(xs):
    return [x for x in xs if x > 0 and x % 2 == 0]
""", bug=("x > 0 and", "x > 0 or"), main=["even_positive([-2, 1, 2, 3, 4])"],
         heldout=["even_positive([])", "even_positive([-4, 6])", "even_positive([1, 3, 8])"]),
    dict(name="dedupe", cls="negated condition", edits=1, oracle="expect",
         code="""
def dedupe(xs):
    seen = set()
    out = []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out
""", bug=("x not in seen", "x in seen"), main=["dedupe([1, 2, 1, 3, 2])"],
         heldout=["dedupe([])", "dedupe([5, 5, 5])", "dedupe(['a', 'b', 'a'])"]),
    dict(name="double", cls="wrong operator", edits=1, oracle="test",
         code="""
def double(x):
    return x * 2
""", bug=("x * 2", "x ** 2"), main=["double(3)"], heldout=["double(0)", "double(-4)", "double(2.5)"]),
    dict(name="middle", cls="off-by-one index", edits=1, oracle="test",
         code="""
def middle(xs):
    return xs[len(xs) // 2]
""", bug=("xs[len(xs) // 2]", "xs[len(xs) // 2 + 1]"), main=["middle([1, 2, 3])"],
         heldout=["middle([7])", "middle([1, 2, 3, 4, 5])", "middle(['a', 'b'])"]),
    dict(name="length", cls="missing base case", edits=1, oracle="expect",
         code="""
def length(xs):
    if not xs:
        return 0
    return 1 + length(xs[1:])
""", bug=("    if not xs:\n        return 0\n", ""), main=["length([1, 2, 3])"],
         heldout=["length([])", "length(['x'])", "length(list(range(20)))"]),
    dict(name="is_sorted", cls="off-by-one range", edits=1, oracle="expect",
         code="""
def is_sorted(xs):
    for i in range(len(xs) - 1):
        if xs[i] > xs[i + 1]:
            return False
    return True
""", bug=("range(len(xs) - 1)", "range(len(xs))"), main=["is_sorted([1, 2, 2, 5])", "is_sorted([3, 1])"],
         heldout=["is_sorted([])", "is_sorted([1])", "is_sorted([1, 3, 2])"]),
    dict(name="strip_ext", cls="wrong method", edits=1, oracle="expect",
         code="""
def strip_ext(name):
    return name[:name.rfind(".")]
""", bug=("name.rfind", "name.find"), main=["strip_ext('archive.tar.gz')"],
         heldout=["strip_ext('a.py')", "strip_ext('x.y.z.w')", "strip_ext('report.final.pdf')"]),
    dict(name="percent", cls="swapped arguments", edits=1, oracle="expect",
         code="""
def percent(part, whole):
    return 100 * part / whole

def ratio_text(part, whole):
    return f"{percent(part, whole):.1f}%"
""", bug=("{percent(part, whole)", "{percent(whole, part)"), main=["ratio_text(1, 4)"],
         heldout=["ratio_text(1, 2)", "ratio_text(3, 3)", "ratio_text(2, 8)"]),
    dict(name="between", cls="wrong comparison (two edits)", edits=2, oracle="expect",
         code="""
def between(x, lo, hi):
    return lo <= x and x <= hi
""", bug=("lo <= x and x <= hi", "lo < x and x < hi"), main=["between(1, 1, 3)", "between(3, 1, 3)", "between(5, 1, 3)"],
         heldout=["between(2, 1, 3)", "between(0, 0, 0)", "between(-1, 0, 5)"]),
    dict(name="window_sums", cls="off-by-one range", edits=1, oracle="expect",
         code="""
def window_sums(xs, k):
    return [sum(xs[i:i + k]) for i in range(len(xs) - k + 1)]
""", bug=("range(len(xs) - k + 1)", "range(len(xs) - k)"), main=["window_sums([1, 2, 3, 4], 2)"],
         heldout=["window_sums([5], 1)", "window_sums([1, 1, 1, 1], 4)", "window_sums([3, 0, 2], 1)"]),
    dict(name="product", cls="wrong constant", edits=1, oracle="expect",
         code="""
def product(xs):
    p = 1
    for x in xs:
        p *= x
    return p
""", bug=("p = 1", "p = 0"), main=["product([2, 3, 4])"],
         heldout=["product([])", "product([5])", "product([-1, 2, -3])"]),
    dict(name="digits", cls="wrong comparison", edits=1, oracle="expect",
         code="""
def digits(n):
    count = 0
    while n > 0:
        n //= 10
        count += 1
    return count
""", bug=("while n > 0", "while n > 1"), main=["digits(10)", "digits(12345)"],
         heldout=["digits(1)", "digits(9)", "digits(100)", "digits(7007)"]),
    dict(name="running_total", cls="wrong variable", edits=1, oracle="asserts",
         code="""
def running_total(xs):
    out = []
    acc = 0
    for x in xs:
        acc += x
        out.append(acc)
    return out
""", bug=("out.append(acc)", "out.append(x)"), main=["running_total([1, 2, 3])"],
         heldout=["running_total([])", "running_total([5])", "running_total([1, -1, 1])"]),
    # added in round 2, after the ranking (duck.repair.rank, duck.repair.probe) was designed on the
    # cases above: these were run once, untuned, to check the ranking on programs it never saw
    dict(name="is_prime", cls="wrong base case", edits=1, oracle="expect", added=2,
         code="""
def is_prime(n):
    if n < 2:
        return False
    for d in range(2, n):
        if n % d == 0:
            return False
    return True
""", bug=("if n < 2", "if n < 1"), main=["is_prime(1)", "is_prime(7)"],
         heldout=["is_prime(0)", "is_prime(2)", "is_prime(9)"]),
    dict(name="max_gap", cls="off-by-one range", edits=1, oracle="asserts", added=2,
         code="""
def max_gap(xs):
    best = 0
    for i in range(1, len(xs)):
        gap = xs[i] - xs[i - 1]
        if gap > best:
            best = gap
    return best
""", bug=("range(1, len(xs))", "range(2, len(xs))"), main=["max_gap([1, 9, 10])"],
         heldout=["max_gap([5])", "max_gap([1, 2, 4, 8])", "max_gap([3, 10, 11, 30])"]),
    dict(name="initials", cls="wrong index", edits=1, oracle="expect", added=2,
         code="""
def initials(name):
    return "".join(part[0].upper() for part in name.split())
""", bug=("part[0]", "part[1]"), main=["initials('ada lovelace')"],
         heldout=["initials('')", "initials('grace brewster hopper')", "initials('x')"]),
    dict(name="count_above", cls="wrong comparison", edits=1, oracle="asserts", added=2,
         code="""
def count_above(xs, limit):
    return sum(1 for x in xs if x > limit)
""", bug=("x > limit", "x >= limit"), main=["count_above([1, 5, 7, 5], 5)"],
         heldout=["count_above([], 0)", "count_above([2, 2], 2)", "count_above([3, 4], 1)"]),
    dict(name="find", cls="wrong variable", edits=1, oracle="expect", added=2,
         code="""
def find(xs, target):
    for i, x in enumerate(xs):
        if x == target:
            return i
    return -1
""", bug=("return i", "return x"), main=["find([5, 6, 7], 7)"],
         heldout=["find([], 1)", "find([4, 4], 4)", "find([1, 2], 3)"]),
    dict(name="sum_squares", cls="wrong operator", edits=1, oracle="expect", added=2,
         code="""
def sum_squares(xs):
    total = 0
    for x in xs:
        total += x * x
    return total
""", bug=("x * x", "x * 2"), main=["sum_squares([1, 2, 3])"],
         heldout=["sum_squares([])", "sum_squares([-4])", "sum_squares([2, 2, 2])"]),
    dict(name="countdown", cls="wrong comparison", edits=1, oracle="expect", added=2,
         code="""
def countdown(n):
    out = []
    while n > 0:
        out.append(n)
        n -= 1
    return out
""", bug=("while n > 0", "while n > 1"), main=["countdown(3)"],
         heldout=["countdown(0)", "countdown(1)", "countdown(5)"]),
    dict(name="discounted", cls="wrong operator", edits=1, oracle="test", added=2,
         code="""
def discounted(price, pct):
    return price - price * pct / 100
""", bug=("price - price", "price + price"), main=["discounted(200, 10)"],
         heldout=["discounted(100, 0)", "discounted(50, 50)", "discounted(80, 25)"]),
]


def _correct(case: dict) -> str:
    return textwrap.dedent(case["code"]).lstrip("\n")


def buggy_source(case: dict) -> str:
    correct = _correct(case)
    before, after = case["bug"]
    assert correct.count(before) == 1, (case["name"], before)
    return correct.replace(before, after)


def _evaluate(source: str, calls: list[str]) -> list[str]:
    namespace: dict = {"__name__": "reference"}
    exec(compile(source, "<reference>", "exec"), namespace)
    return [repr(eval(call, namespace)) for call in calls]


def materialize(root: Path) -> list[Path]:
    """Write every case's folder under ``root``; returns the folders."""
    folders = []
    for case in CASES:
        folder = root / case["name"]
        folder.mkdir(parents=True, exist_ok=True)
        correct = _correct(case)
        main_values = _evaluate(correct, case["main"])
        program = buggy_source(case)
        meta = {"name": case["name"], "class": case["cls"], "edits": case["edits"], "oracle": case["oracle"],
                "heldout": [{"call": call, "expected": value}
                            for call, value in zip(case["heldout"], _evaluate(correct, case["heldout"]))],
                "reference": correct, "added": case.get("added", 1)}
        if case["oracle"] == "expect":
            program += "\n\nif __name__ == \"__main__\":\n" + "".join(f"    print({call})\n" for call in case["main"])
            meta["expect"] = "".join(f"{eval(value)}\n" for value in main_values)
        elif case["oracle"] == "asserts":
            program += "\n\nif __name__ == \"__main__\":\n" + "".join(
                f"    assert {call} == {value}\n" for call, value in zip(case["main"], main_values))
        else:
            tests = "from prog import *\n\n" + "".join(
                f"\ndef test_{index}():\n    assert {call} == {value}\n"
                for index, (call, value) in enumerate(zip(case["main"], main_values)))
            (folder / "test_prog.py").write_text(tests, encoding="utf-8")
            meta["test"] = "test_prog.py::test_0"
        (folder / "prog.py").write_text(program, encoding="utf-8")
        (folder / "case.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        folders.append(folder)
    return folders


if __name__ == "__main__":
    written = materialize(Path(__file__).resolve().parent)
    print(f"wrote {len(written)} cases")
