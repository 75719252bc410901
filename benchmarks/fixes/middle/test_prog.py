from prog import *


def test_0():
    assert middle([1, 2, 3]) == 2
