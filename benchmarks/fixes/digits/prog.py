def digits(n):
    count = 0
    while n > 1:
        n //= 10
        count += 1
    return count


if __name__ == "__main__":
    print(digits(10))
    print(digits(12345))
