"""Unbounded recursion whose innermost frame fails on a different line from the recursive call."""
def fact(n):
    print("fact", n) if n % 500 == 0 else None
    return n * fact(n - 1)


fact(10)
