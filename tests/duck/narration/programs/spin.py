"""A loop far longer than the step limit the tests record it with."""
def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


print(spin(10_000_000))
