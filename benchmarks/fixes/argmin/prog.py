def argmin(xs):
    best = 0
    for i in range(2, len(xs)):
        if xs[i] < xs[best]:
            best = i
    return best


if __name__ == "__main__":
    print(argmin([4, 1, 3]))
