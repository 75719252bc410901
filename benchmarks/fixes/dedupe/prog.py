def dedupe(xs):
    seen = set()
    out = []
    for x in xs:
        if x in seen:
            seen.add(x)
            out.append(x)
    return out


if __name__ == "__main__":
    print(dedupe([1, 2, 1, 3, 2]))
