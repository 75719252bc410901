def get(xs, i):
    return xs[i]


def main():
    xs = [1, 2, 3]
    return get(xs, 3)


main()
