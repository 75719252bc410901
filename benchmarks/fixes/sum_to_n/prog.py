def sum_to_n(n):
    total = 0
    for i in range(1, n):
        total += i
    return total


if __name__ == "__main__":
    print(sum_to_n(5))
    print(sum_to_n(1))
