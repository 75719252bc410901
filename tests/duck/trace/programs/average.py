import sys


def average(xs):
    total = 0
    for x in xs:
        total += x
    return total / len(xs)


nums = [int(a) for a in sys.argv[1:]] or [3, 4, 5]
print("average:", average(nums))
