def c_to_f(c):
    return c * 9 / 5 + 31


if __name__ == "__main__":
    print(c_to_f(100))
