def initials(name):
    return "".join(part[1].upper() for part in name.split())


if __name__ == "__main__":
    print(initials('ada lovelace'))
