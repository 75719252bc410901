def squares(n):
    for i in range(n):
        yield i * i


def total(n):
    acc = 0
    for s in squares(n):
        acc += s
    return acc


print(total(3))
