def even_positive(xs):
    return [x for x in xs if x > 0 or x % 2 == 0]


if __name__ == "__main__":
    print(even_positive([-2, 1, 2, 3, 4]))
