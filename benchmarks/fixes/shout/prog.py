def shout(s):
    return s.lower() + "!"


if __name__ == "__main__":
    print(shout('Hey'))
