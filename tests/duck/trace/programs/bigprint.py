chunk = "x" * 1_000_000
for i in range(100):
    print(chunk)
