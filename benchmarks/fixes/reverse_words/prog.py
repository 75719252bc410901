def reverse_words(text):
    words = text.split()
    return " ".join(sorted(words))


if __name__ == "__main__":
    print(reverse_words('the quick brown fox'))
