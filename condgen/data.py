"""Helpers dataset plugins share: where data lives, and tensor-resident splits.

A split held as one tensor and batched by index costs a gather and a cast per
batch; per-item conversion through a ``DataLoader`` costs more than a small
model's whole step on a CPU.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


@contextmanager
def removed_on_failure(folder: Path) -> Iterator[None]:
    """If the block raises, remove the folders on the way to ``folder`` that did not exist before it.

    A failed download then leaves nothing behind (no empty ``/typo/MNIST/raw``); folders that existed are kept.
    """
    created = None
    probe = Path(folder).absolute()
    while not probe.exists():
        created, probe = probe, probe.parent
    try:
        yield
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


#: What the socket and TLS errors under a failed download mean, in words (first match wins).
_DOWNLOAD_FAILURES = (
    (
        ("Name or service not known", "Temporary failure in name resolution", "nodename nor servname",
         "getaddrinfo failed", "No address associated"),
        "the server's name could not be looked up (no DNS: this machine looks offline)",
    ),
    (("Network is unreachable", "No route to host"), "there is no network route to the server (offline)"),
    (("Connection refused",), "the connection was refused (by a proxy or firewall, or the server is down)"),
    (("timed out", "Timeout"), "the connection timed out"),
    (("CERTIFICATE_VERIFY_FAILED",), "the server's TLS certificate could not be verified"),
)


def download_failure(error: BaseException) -> str:
    """Why a download failed, in words a user can act on (torchvision's own message can end at a bare colon)."""
    text = str(error)
    for needles, words in _DOWNLOAD_FAILURES:
        if any(needle in text for needle in needles):
            return words
    lines = [line.strip().removeprefix("<urlopen error ").removesuffix(">") for line in text.splitlines()]
    detail = [line for line in lines if line and not line.endswith(":")]
    return detail[-1] if detail else f"{type(error).__name__}, with no detail"


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
