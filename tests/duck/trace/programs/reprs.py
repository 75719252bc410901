class Raises:
    def __repr__(self):
        raise ValueError("no repr for you")


class Hangs:
    def __repr__(self):
        while True:
            pass


class Huge:
    def __repr__(self):
        return "h" * 10_000_000


def show():
    a = Raises()
    b = Hangs()
    c = Huge()
    loop = [1, 2]
    loop.append(loop)
    return len(loop)


show()
