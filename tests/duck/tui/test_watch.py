"""Watch expressions are answered from recorded values only (duck.watch), never by running code."""

from __future__ import annotations

import pytest

from duck.watch import NotAvailable, evaluate, watch_text

VALUES = {"xs": "[3, 4, 5]", "i": "1", "name": "'ab'", "p": "<Point object>", "d": "{'a': 1}",
          "cut": "'abcdefgh...<+90 chars>", "node": "Node(value=3, next=Node(value=4, next=None))",
          "self": "Stack(items=[1, 2], top=Node(value=9, next=None))",
          "long": "Node(value=1, next=Node(value=2, next=Node(value=3, next=Node(val...",
          "bag": "Bag(n=1, items=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21...",
          "f": "<function f>"}


@pytest.mark.parametrize("expression, expected", [
    ("xs[i]", 4), ("sum(xs) / len(xs)", 4.0), ("xs[::-1]", [5, 4, 3]), ("d['a'] + 1", 2),
    ("i if xs else 0", 1), ("name * 2", "abab"), ("len(xs) > 2 and name", "ab"), ("max(xs) - min(xs)", 2),
    ("{i: xs}", {1: [3, 4, 5]}), ("-i ** 2", -1), ("1 < i + 1 <= 2", True),
    ("node.value", 3), ("node.next.value + 1", 5), ("self.items[0]", 1), ("self.top.value", 9),
    ("node.next.next is None", True), ("long.value", 1), ("long.next.next.value", 3), ("bag.n", 1),
])
def test_expressions_over_recorded_values(expression, expected):
    assert evaluate(expression, VALUES) == expected


@pytest.mark.parametrize("expression, reason", [
    ("p", "not a plain value"), ("p.x", "not a plain value"), ("cut", "cut short"), ("missing", "no recorded value"),
    ("node.missing", "no recorded attribute missing"), ("xs.count", "only the attributes of recorded objects"),
    ("long", "cut short"), ("long.next.next.next.value", "cut short"), ("bag.items", "cut short"),
    ("f.x", "not a plain value"), ("node.next.value.real", "only the attributes"),
    ("open('f')", "can be called"), ("__import__('os')", "can be called"), ("[x for x in xs]", "listcomp"),
    ("9 ** 9 ** 9", "too large"), ("name * 10 ** 9", "too large"), ("xs[10]", "IndexError"),
    ("1 / 0", "ZeroDivisionError"), ("lambda: 1", "lambda"), ("(", "not an expression"),
])
def test_what_a_recording_cannot_answer(expression, reason):
    with pytest.raises(NotAvailable, match=reason):
        evaluate(expression, VALUES)
    text, ok = watch_text(expression, VALUES)
    assert not ok and text.startswith("not available: ")


def test_a_recorded_local_shadows_a_builtin_name():
    assert evaluate("len", {"len": "3"}) == 3
