name = input("name? ")
age = input("age? ")
print(f"hello {name}, {age}")
