def count_up(n):
    for i in range(n):
        yield i


FIRST = next(count_up(1))
