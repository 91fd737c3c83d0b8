"""Helpers dataset plugins share: where data lives, and tensor-resident splits.

A split held as one tensor and batched by index costs a gather and a cast per
batch; per-item conversion through a ``DataLoader`` costs more than a small
model's whole step on a CPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

DATA_DIR_ENV = "CONDGEN_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")


def resolve_data_root(configured: Path | str | None) -> Path:
    """The recipe's ``root`` if set, else ``$CONDGEN_DATA_DIR``, else ``./data``."""
    if configured is not None and str(configured) != "":
        return Path(configured).expanduser()
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_DATA_DIR


class TensorSplit:
    """``(x, condition)`` pairs held as tensors; ``x`` may be uint8 pixels.

    ``scale`` converts stored x to floats (``1/255`` for 8-bit images), done per
    batch so the split stays small in memory.
    """

    def __init__(
        self,
        x: torch.Tensor,
        condition: torch.Tensor,
        *,
        scale: float = 1.0,
        labels: torch.Tensor | None = None,
    ) -> None:
        if len(x) != len(condition):
            raise ValueError(f"x has {len(x)} examples but condition has {len(condition)}")
        self.x = x
        self.condition = condition
        self.scale = scale
        self.labels = labels

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[index].to(torch.float32)
        if self.scale != 1.0:
            x.mul_(self.scale)
        return x, self.condition[index].to(torch.float32)


class SubsetSplit:
    """Rows ``rows`` of another split, batched through it: a held-out part of the training data."""

    def __init__(self, split, rows: torch.Tensor) -> None:
        self.split, self.rows = split, rows

    def __len__(self) -> int:
        return len(self.rows)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split.batch(self.rows[index])


#: one fixed draw: every seed of a recipe holds out the same examples, so their validation scores compare
VALIDATION_SEED = 0


def hold_out(split, size: int | float) -> tuple[SubsetSplit, SubsetSplit]:
    """``(train, validation)``: ``size`` examples (or that fraction) of ``split`` drawn once, the rest for training.

    A pure function of the split's length and ``size``, so a resumed run holds out the same examples.
    """
    n = len(split)
    count = size if isinstance(size, int) else round(size * n)
    if not 0 < count < n:
        from .errors import DataError

        raise DataError(
            f"data.validation: {size} leaves {n - count} of the {n} training examples for training and "
            f"{count} for validation; both need at least one.",
            hint="Hold out fewer examples (an integer count or a fraction like 0.1).",
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(VALIDATION_SEED))
    return SubsetSplit(split, order[count:].sort().values), SubsetSplit(split, order[:count].sort().values)
