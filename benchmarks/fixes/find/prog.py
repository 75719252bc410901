def find(xs, target):
    for i, x in enumerate(xs):
        if x == target:
            return x
    return -1


if __name__ == "__main__":
    print(find([5, 6, 7], 7))
