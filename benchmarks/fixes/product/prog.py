def product(xs):
    p = 0
    for x in xs:
        p *= x
    return p


if __name__ == "__main__":
    print(product([2, 3, 4]))
