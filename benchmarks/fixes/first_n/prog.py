def first_n(xs, n):
    return xs[:n - 1]


if __name__ == "__main__":
    print(first_n([1, 2, 3, 4], 2))
