"""Naturalness breaks the ties the run evidence leaves (duck.repair.naturalness)."""

from __future__ import annotations

import ast
from pathlib import Path

from duck.repair.naturalness import count_corpus, naturalness, shape
from duck.repair.rank import rank_key, why_first
from duck.repair.search import Fix

BUGGY = '''def every_other(items):
    kept = []
    for i, item in enumerate(items):
        if i // 2 == 0:
            kept.append(item)
    return kept
'''


def _fix(patched: str, **evidence) -> Fix:
    return Fix(file=Path("prog.py"), original_source=BUGGY, patched_source=patched, diff="", explanation="",
               verified=True, origin="edit", description=patched, size=1, **evidence)


def test_a_shape_abstracts_names_and_keeps_small_constants():
    assert shape(ast.parse("i % 2 == 0", mode="eval").body) == "Compare(Eq)[BinOp(Mod), 0]"
    assert shape(ast.parse("n.size % 2", mode="eval").body) == "BinOp(Mod)[Attribute, 2]"
    assert shape(ast.parse("x + 1000", mode="eval").body) == "BinOp(Add)[Name, int]"
    assert shape(ast.parse("x", mode="eval").body) is None


def test_the_corpus_counts_shapes_and_leaves_tests_out(tmp_path):
    (tmp_path / "mod.py").write_text("a = x % 2 == 0\nb = y % 2 == 0\n")
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "t.py").write_text("c = z % 2 == 0\n")
    counts = count_corpus(str(tmp_path))
    assert counts["Compare(Eq)[BinOp(Mod), 0]"] == 2


def test_the_common_shape_breaks_a_tie_the_runs_leave():
    constant = _fix(BUGGY.replace("i // 2 == 0", "i // 2 == 1"), behaviour_distance=4)
    operator = _fix(BUGGY.replace("i // 2 == 0", "i % 2 == 0"), behaviour_distance=4)
    assert naturalness(BUGGY, operator.patched_source) > naturalness(BUGGY, constant.patched_source)
    # the search tried the constant first (its order), and nothing in the runs tells them apart
    ranked = sorted([constant, operator], key=lambda f: rank_key(f, 0 if f is constant else 1))
    assert ranked[0] is operator
    assert "standard library" in why_first(ranked)


def test_naturalness_does_not_outweigh_the_tests_that_passed():
    constant = _fix(BUGGY.replace("i // 2 == 0", "i // 2 == 1"), passing_distance=3)
    operator = _fix(BUGGY.replace("i // 2 == 0", "i % 2 == 0"), passing_distance=4)
    ranked = sorted([constant, operator], key=lambda f: rank_key(f, 0 if f is constant else 1))
    assert ranked[0] is constant
    assert "standard library" not in why_first(ranked)


def test_a_smaller_departure_in_the_failing_test_does_not_outweigh_naturalness():
    """A wrong fix that passes by coincidence often departs least from the buggy run in the
    failing test (it stops early with the expected value where the right fix runs on); the
    right fix must depart there, so that departure only breaks the last ties."""
    constant = _fix(BUGGY.replace("i // 2 == 0", "i // 2 == 1"), behaviour_distance=3)
    operator = _fix(BUGGY.replace("i // 2 == 0", "i % 2 == 0"), behaviour_distance=9)
    ranked = sorted([constant, operator], key=lambda f: rank_key(f, 0 if f is constant else 1))
    assert ranked[0] is operator
    assert "standard library" in why_first(ranked)
    same = _fix(BUGGY.replace("i // 2 == 0", "i % 2 == 0 "), behaviour_distance=2)  # the same shapes
    assert sorted([operator, same], key=lambda f: rank_key(f, 0 if f is operator else 1))[0] is same
    assert "departs less" in why_first([same, operator])


def test_a_fix_that_brings_in_no_new_shape_is_not_penalised():
    swapped = BUGGY.replace("enumerate(items)", "enumerate(items, 0)")  # a call argument, no operator
    assert naturalness(BUGGY, swapped) >= naturalness(BUGGY, BUGGY.replace("i // 2 == 0", "i % 2 == 0"))


def test_the_last_item_is_likelier_than_a_fixed_position():
    buggy = "def lasts(rows):\n    return [row[-2] for row in rows]\n"
    assert shape(ast.parse("row[-1]", mode="eval").body) == "Subscript[Name, -1]"
    assert naturalness(buggy, buggy.replace("-2", "-1")) > naturalness(buggy, buggy.replace("-2", "2"))


def test_a_name_repeated_among_the_operands_is_marked():
    assert shape(ast.parse("total += total").body[0]) == "AugAssign(Add)[Name, Same]"
    buggy = "def product(values):\n    total = 1\n    for v in values:\n        total += v\n    return total\n"
    assert naturalness(buggy, buggy.replace("total += v", "total *= v")) > \
        naturalness(buggy, buggy.replace("total += v", "total += total"))
