def running_total(xs):
    out = []
    acc = 0
    for x in xs:
        acc += x
        out.append(x)
    return out


if __name__ == "__main__":
    assert running_total([1, 2, 3]) == [1, 3, 6]
