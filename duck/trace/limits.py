"""Resource limits of one recording, with the defaults every command starts from.

``Limits`` is a small immutable value written by hand rather than a frozen dataclass: the
recording child imports it, and ``dataclasses`` (with the ``inspect``, ``ast`` and ``dis`` it
pulls in) would be a sizeable part of that child's start-up. It compares, hashes, prints and
pickles like the dataclass did; ``limits.replace(timeout_s=5)`` stands for ``dataclasses.replace``.
"""

from __future__ import annotations

_FIELDS = ("max_steps", "timeout_s", "max_memory_mb", "max_output_bytes", "repr_limit", "user_repr")


class Limits:
    """What stops a recording early. The partial trace is always kept."""

    __slots__ = _FIELDS
    max_steps: int
    timeout_s: float
    max_memory_mb: int
    max_output_bytes: int
    repr_limit: int
    user_repr: bool  # call the program's own __repr__ (contained) instead of the structural repr

    def __init__(self, max_steps: int = 1_000_000, timeout_s: float = 30.0, max_memory_mb: int = 2048,
                 max_output_bytes: int = 10_000_000, repr_limit: int = 200, user_repr: bool = False) -> None:
        for name, value in zip(_FIELDS, (max_steps, timeout_s, max_memory_mb, max_output_bytes, repr_limit,
                                         user_repr)):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r} (Limits is immutable: use replace())")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} (Limits is immutable)")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Limits(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS) + ")"

    def __reduce__(self):
        return (Limits, self._values())

    def replace(self, **changes) -> "Limits":
        """A copy with ``changes`` (field names) applied, as ``dataclasses.replace`` gave."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise TypeError(f"Limits has no field {sorted(unknown)[0]!r}")
        return Limits(**{**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> "Limits":
        known = {k: data[k] for k in _FIELDS if k in data}
        return cls(**known)
