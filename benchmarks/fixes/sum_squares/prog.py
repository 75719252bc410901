def sum_squares(xs):
    total = 0
    for x in xs:
        total += x * 2
    return total


if __name__ == "__main__":
    print(sum_squares([1, 2, 3]))
