def length(xs):
    return 1 + length(xs[1:])


if __name__ == "__main__":
    print(length([1, 2, 3]))
