"""Resource limits of one recording, with the defaults every command starts from."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """What stops a recording early. The partial trace is always kept."""

    max_steps: int = 1_000_000
    timeout_s: float = 30.0
    max_memory_mb: int = 2048
    max_output_bytes: int = 10_000_000
    repr_limit: int = 200
    user_repr: bool = False  # call the program's own __repr__ (contained) instead of the structural repr

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Limits":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
