"""Candidate edits are small, format-preserving, never touch asserts, and combine in pairs."""

from __future__ import annotations

from duck.repair.apply import compiles
from duck.repair.edits import apply_edits, candidate_edits, edit_pairs

SOURCE = '''def total(xs):  # keep this comment
    s = 0
    for i in range(1, len(xs)):
        if xs[i] > 0:
            s  +=  xs[i]
    assert s >= 0, "never negative"

def fact(n):
    return n * fact(n - 1)
'''


def _descriptions(edits):
    return {e.description for e in edits}


def test_edits_cover_the_mutation_classes_and_preserve_formatting():
    edits = candidate_edits(SOURCE, range(1, 10))
    found = _descriptions(edits)
    assert "`>` -> `>=`" in found                                  # comparison
    assert "`+=` -> `-=`" in found                                 # arithmetic
    assert "constant `1` -> `0`" in found                          # off-by-one constant
    assert "range bound `len(xs)` -> `len(xs) + 1`" in found        # off-by-one range
    assert "index `i` -> `i - 1`" in found                         # off-by-one index
    assert "condition `xs[i] > 0` negated" in found                # negated condition
    assert "`xs` -> `s`" in found                                  # wrong variable
    assert "missing `return s` added at the end of `total`" in found
    assert any(d.startswith("base case `if n <= 1: return 1`") for d in found)
    for edit in edits:
        patched = apply_edits(SOURCE, [edit])
        assert compiles(patched), edit
        # everything outside the edited span is byte-for-byte the same
        assert patched[: edit.start] == SOURCE[: edit.start]
        assert patched[edit.start + len(edit.text):] == SOURCE[edit.end:]
    one = next(e for e in edits if e.description == "`+=` -> `-=`")
    assert "s  -=  xs[i]" in apply_edits(SOURCE, [one]) and "# keep this comment" in apply_edits(SOURCE, [one])


def test_asserts_are_never_edited_and_order_follows_suspicion():
    edits = candidate_edits(SOURCE, [9, 6, 4])
    assert edits
    for edit in edits:  # an insertion may follow the assert, but its text is never changed
        assert '    assert s >= 0, "never negative"\n' in apply_edits(SOURCE, [edit])
    assert edits[0].line == 9
    in_place = [e.line for e in edits if e.kind not in ("return", "base-case")]
    assert in_place == sorted(in_place, key=[9, 6, 4].index)
    inserted = [i for i, e in enumerate(edits) if e.kind in ("return", "base-case")]
    assert inserted and min(inserted) >= min(30, len(in_place))  # bigger edits come after in-place ones


def test_pairs_do_not_overlap_and_apply_together():
    edits = candidate_edits(SOURCE, [3, 4])
    pairs = edit_pairs(edits, 50)
    assert len(pairs) == 50
    for a, b in pairs:
        assert not a.overlaps(b)
        together = apply_edits(SOURCE, [a, b])
        assert together not in (SOURCE, apply_edits(SOURCE, [a]), apply_edits(SOURCE, [b]))  # both applied
        assert compiles(together), (a.description, b.description)
    assert candidate_edits("def broken(:\n", [1]) == []


def test_method_and_function_swaps():
    source = "def f(words, xs):\n    words.append(xs)\n    return max(xs), sorted(xs)\n"
    found = _descriptions(candidate_edits(source, [2, 3]))
    assert "`.append()` -> `.extend()`" in found
    assert "`max()` -> `min()`" in found
    assert "`sorted(...)` -> `sorted(..., reverse=True)`" in found
