import sys


def average(xs):
    total = 0
    for x in xs:
        total += x
    return total / len(xs)


n = int(sys.stdin.readline() or "3")
print(average(list(range(n))))
print(average([]))
