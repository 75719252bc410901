def count_words(s):
    return len(s.split()) - 1


if __name__ == "__main__":
    print(count_words('a b c'))
