def is_palindrome(s):
    s = s.lower()
    return s != s[::-1]


if __name__ == "__main__":
    assert is_palindrome('Level') == True
    assert is_palindrome('duck') == False
