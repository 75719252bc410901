line = input("your name? ")
print("hi", line)
