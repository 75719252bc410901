def flatten(groups):
    out = []
    for g in groups:
        out.append(g)
    return out


if __name__ == "__main__":
    print(flatten([[1, 2], [3]]))
