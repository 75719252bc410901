class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


ORIGIN = Point(0, 0)
