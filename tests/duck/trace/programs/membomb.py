blocks = []
while True:
    blocks.append(bytearray(50_000_000))
