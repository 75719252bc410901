def square_all(xs):
    out = []
    for x in xs:
        out.append(x * x)


if __name__ == "__main__":
    print(square_all([1, 2, 3]))
