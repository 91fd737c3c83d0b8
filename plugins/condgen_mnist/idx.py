"""MNIST's IDX files read straight into tensors: one copy of the pixels in memory.

torchvision's reader holds the file's bytes, a parsed copy and a byte-swapped
copy at once (the seed run's peak memory was set there: 124 MB to load 47 MB of
training pixels). The headers and sizes are checked before this is called
(``_check_idx``), so the pixels follow a header of known length; IDX's
unsigned bytes have no byte order to swap.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch


class IdxSplit(NamedTuple):
    """What torchvision's MNIST holds, by the same names: uint8 images (N, 28, 28) and int64 labels (N,)."""

    data: torch.Tensor
    targets: torch.Tensor


def read_idx(images: Path, labels: Path, count: int) -> IdxSplit:
    """``count`` images and labels from checked IDX files (headers of 16 and 8 bytes)."""
    pixels = np.fromfile(images, dtype=np.uint8, offset=16).reshape(count, 28, 28)
    digits = np.fromfile(labels, dtype=np.uint8, offset=8)
    return IdxSplit(torch.from_numpy(pixels), torch.from_numpy(digits).long())
