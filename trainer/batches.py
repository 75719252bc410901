"""Measuring what a trainer's batches hold: the share of pad positions.

Used by the packing test and ``benchmarks/trainer_throughput.py`` to compare plain padding
with packed / padding-free batches on the same data. It reads batches from the trainer's
own data loader (the collator TRL really uses); it does not change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class PadCount:
    positions: int  # token positions in the batch tensors
    real: int  # positions that hold a token of some row
    batches: int

    @property
    def pad_fraction(self) -> float:
        return 1 - self.real / self.positions if self.positions else 0.0


def count_pads(trainer: Any, max_batches: int | None = None) -> PadCount:
    """Pad positions over (up to ``max_batches``) batches of ``trainer``'s train loader.

    A padded batch marks real tokens in ``attention_mask``; a padding-free batch is one
    flattened row with no attention mask, where every position is real."""
    positions = real = batches = 0
    for batch in trainer.get_train_dataloader():
        ids = batch["input_ids"]
        positions += ids.numel()
        mask = batch.get("attention_mask")
        real += int(mask.sum()) if mask is not None else ids.numel()
        batches += 1
        if max_batches is not None and batches >= max_batches:
            break
    return PadCount(positions=positions, real=real, batches=batches)
