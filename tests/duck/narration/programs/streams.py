import sys


def warn(message):
    print("warning:", message, file=sys.stderr)


squares = [n * n for n in range(3)]
print("squares", squares)
warn("the list is short")
