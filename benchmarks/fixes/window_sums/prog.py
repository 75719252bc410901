def window_sums(xs, k):
    return [sum(xs[i:i + k]) for i in range(len(xs) - k)]


if __name__ == "__main__":
    print(window_sums([1, 2, 3, 4], 2))
