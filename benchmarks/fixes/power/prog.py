def power(base, exp):
    result = 1
    for _ in range(exp):
        result += base
    return result


if __name__ == "__main__":
    print(power(2, 5))
