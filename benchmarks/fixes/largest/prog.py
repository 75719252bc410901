def largest(xs):
    best = xs[0]
    for x in xs:
        if x < best:
            best = x
    return best


if __name__ == "__main__":
    print(largest([3, 9, 4]))
