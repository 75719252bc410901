"""Properties (getter, setter, deleter, cached), static and class methods, a user decorator."""
import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Account:
    def __init__(self, balance):
        self._balance = balance

    @property
    def balance(self):
        return self._balance

    @balance.setter
    def balance(self, value):
        if value < 0:
            raise ValueError("negative balance")
        self._balance = value

    @balance.deleter
    def balance(self):
        self._balance = 0

    @functools.cached_property
    def report(self):
        return f"balance {self._balance}"

    @staticmethod
    def fee(amount):
        return amount // 100

    @classmethod
    def empty(cls):
        return cls(0)

    @logged
    def deposit(self, amount):
        self.balance = self.balance + amount


acct = Account.empty()
acct.deposit(50)
print(acct.balance, Account.fee(250), acct.report)
del acct.balance
print(acct.balance)
