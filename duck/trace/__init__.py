"""duck.trace: record one run of a Python program and read the recording back.

``format`` (the v1 JSON Lines format: writer and reader), ``saferepr`` (bounded,
never-raising reprs), ``recorder`` (the in-process tracer that runs inside the child), and
``runner`` (the parent side: starts the child interpreter, enforces limits, writes the
outcome). Stdlib only. This package does not interpret a trace; ``duck.session`` does.
"""
