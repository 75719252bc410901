def walk(n):
    while n > 1:
        n -= 1
    else:
        return -1

def each(xs):
    for x in xs:
        print(x)
    return len(xs)

walk(1)
walk(3)
each([])
each([1, 2])
