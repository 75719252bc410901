from prog import *


def test_0():
    assert double(3) == 6
