def count_above(xs, limit):
    return sum(1 for x in xs if x >= limit)


if __name__ == "__main__":
    assert count_above([1, 5, 7, 5], 5) == 1
