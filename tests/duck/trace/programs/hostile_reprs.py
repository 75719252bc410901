import sys

calls = 0


class Counting:
    def __init__(self):
        self.n = 0

    def __repr__(self):
        global calls
        calls += 1
        print("Counting.__repr__ ran")
        return "Counting"


class Exits:
    def __repr__(self):
        raise SystemExit(7)


class Interrupts:
    def __repr__(self):
        raise KeyboardInterrupt


class Spins:
    def __repr__(self):
        while True:
            pass


class Stubborn:
    def __repr__(self):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass


class Meta(type):
    def __repr__(cls):
        while True:
            pass


class WithMeta(metaclass=Meta):
    pass


def use(stubborn=True):
    c = Counting()
    e = Exits()
    i = Interrupts()
    p = Spins()
    s = Stubborn() if stubborn else None
    k = WithMeta
    w = WithMeta()
    items = [c, e, i, p, s, k, w]
    for n in range(3):
        c.n = n
    return calls, len(items)


if __name__ == "__main__":
    print("reprs called:", use())
    sys.exit(3)
