def count_vowels(s):
    n = 0
    for ch in s.lower():
        if ch not in "aeiou":
            n += 1
    return n


if __name__ == "__main__":
    print(count_vowels('Quack'))
