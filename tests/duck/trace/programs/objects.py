class Node:
    def __init__(self, value, next=None):
        self.value = value
        self.next = next


class Pair:
    __slots__ = ("left", "right")

    def __init__(self, left):
        self.left = left


class Account:
    def __init__(self):
        self._balance = 0

    @property
    def balance(self):
        print("the balance property ran")
        return self._balance

    def __getattr__(self, name):
        print("__getattr__ ran for", name)
        raise AttributeError(name)

    def deposit(self, amount):
        self._balance += amount


def build(values):
    head = None
    for v in reversed(values):
        head = Node(v, head)
    return head


def bump(node):
    node.value = node.value * 10


head = build([1, 2, 3])
pair = Pair(head)
account = Account()
account.deposit(5)
bump(head)
pair.right = "set"
node = head
while node is not None:
    node = node.next
print("done", head.value)
