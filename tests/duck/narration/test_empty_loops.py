"""Loops that run no iteration, and a loop's ``else:``, told as what they are (recorded runs)."""

from __future__ import annotations

from duck.narration import render_run


def test_a_loop_that_never_runs_says_so_and_its_else_is_not_an_iteration(recorded):
    session = recorded("empty_loops")
    text = render_run(session)
    # walk(1): the while's condition is false at once; its else (`return -1`) runs after, in no iteration
    assert "- line 2: `while n > 1:` -> the condition is false at once, so the loop body never runs\n" \
           "    - line 5: `return -1`" in text
    assert "(1 iteration in all)" not in text
    # walk(3): two iterations, then the check that ends the loop is told as its end, not as "never runs"
    assert "- line 2: `while n > 1:` -> the loop ends after 2 iterations\n" in text
    assert "- line 8: `for x in xs:` -> there is nothing to iterate over, so the loop body never runs" in text
    assert "- line 8: `for x in xs:` -> the loop ends after 2 iterations\n" in text
    position = session.loop_at(next(step for step in range(len(session))
                                     if session.line(step) == 5 and session.kind(step) == "line"))
    assert position is None  # the else clause is after the loop, not inside it
