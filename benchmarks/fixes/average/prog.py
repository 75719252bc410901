def average(xs):
    return sum(xs) // len(xs)


if __name__ == "__main__":
    print(average([1, 2, 3, 4]))
