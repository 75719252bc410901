"""A property setter that raises: the failure is inside the setter."""
class Tank:
    def __init__(self):
        self._level = 0

    @property
    def level(self):
        return self._level

    @level.setter
    def level(self, value):
        if value > 10:
            raise ValueError(f"overflow: {value}")
        self._level = value


tank = Tank()
for amount in (4, 8, 12):
    tank.level = amount
