def is_even(n):
    return n % 2 == 1


if __name__ == "__main__":
    print(is_even(4))
    print(is_even(7))
