"""Fault localisation walks the backward slice of a real recording."""

from __future__ import annotations

from duck.repair.localize import backward_slice, names_seen, suspicious_lines
from duck.repair.oracle import RunOracle

PROGRAM = '''def scale(xs, k):
    out = []
    for x in xs:
        out.append(x * k)
    return out

factor = 0
unused = 5
values = scale([1, 2, 3], factor)
print(100 // values[0])
'''


def test_failing_line_first_then_the_lines_its_values_came_from(write, recorded):
    prog = write("prog.py", PROGRAM)
    session = recorded(prog)
    failing = RunOracle().failing_step(session)
    assert session.event(failing).line == 10
    path = session.event(failing).file
    ranked = [s.line for s in suspicious_lines(session, path, failing)]
    assert ranked[0] == 10
    on_slice = {line for (file, line), hops in backward_slice(session, failing).items() if file == path}
    assert {9, 7, 4, 5} <= on_slice          # values <- scale's return <- out.append(x * k) <- factor
    assert 8 not in on_slice                 # `unused` never reaches the failure
    assert ranked.index(7) < ranked.index(8)
    assert {"xs", "k", "out"} <= names_seen(session, path)[4]
