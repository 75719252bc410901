"""Recursive Fibonacci with a wrong base case: `duck fix examples/fib.py --expect "0 1 1 2 3 5 8"`."""


def fib(n):
    if n < 1:
        return n
    if n == 1:
        return 2
    return fib(n - 1) + fib(n - 2)


print(" ".join(str(fib(i)) for i in range(7)))
