def between(x, lo, hi):
    return lo < x and x < hi


if __name__ == "__main__":
    print(between(1, 1, 3))
    print(between(3, 1, 3))
    print(between(5, 1, 3))
