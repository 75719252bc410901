def max_gap(xs):
    best = 0
    for i in range(2, len(xs)):
        gap = xs[i] - xs[i - 1]
        if gap > best:
            best = gap
    return best


if __name__ == "__main__":
    assert max_gap([1, 9, 10]) == 8
