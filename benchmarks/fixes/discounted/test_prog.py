from prog import *


def test_0():
    assert discounted(200, 10) == 180.0
