"""Unbounded recursion: a RecursionError about a thousand calls deep."""
def depth(n):
    return depth(n + 1)


depth(0)
