from dataclasses import dataclass


@dataclass
class Square:
    side: int


def area(shape):
    return shape.side ** 2
