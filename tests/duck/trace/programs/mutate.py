def build(n):
    xs = []
    for i in range(n):
        xs.append(i * i)
    d = {}
    d["k"] = xs
    del d
    return xs


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


p = Point(1, 2)
result = build(3)
print(result)
