def clamp(x, lo, hi):
    return min(lo, max(x, hi))


if __name__ == "__main__":
    print(clamp(5, 0, 10))
    print(clamp(-3, 0, 10))
    print(clamp(12, 0, 10))
