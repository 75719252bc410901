def count_positive(xs):
    n = 0
    for x in xs:
        if x >= 0:
            n += 1
    return n


if __name__ == "__main__":
    assert count_positive([0, 1, -2, 3]) == 2
