def is_sorted(xs):
    for i in range(len(xs)):
        if xs[i] > xs[i + 1]:
            return False
    return True


if __name__ == "__main__":
    print(is_sorted([1, 2, 2, 5]))
    print(is_sorted([3, 1]))
