def countdown(n):
    out = []
    while n > 1:
        out.append(n)
        n -= 1
    return out


if __name__ == "__main__":
    print(countdown(3))
