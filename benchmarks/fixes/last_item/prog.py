def last_item(xs):
    return xs[len(xs)]


if __name__ == "__main__":
    print(last_item([4, 5, 6]))
