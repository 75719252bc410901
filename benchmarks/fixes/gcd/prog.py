def gcd(a, b):
    while b:
        a, b = b, b % a
    return a


if __name__ == "__main__":
    print(gcd(12, 18))
    print(gcd(7, 3))
