"""Image grids, written atomically through torchvision's ``save_image``."""

from __future__ import annotations

from pathlib import Path

import torch

from ..compat import torchvision
from .atomic import atomic_path


def save_grid(images: torch.Tensor, path: Path, per_row: int) -> None:
    """Save ``images`` (N, C, H, W) in [0, 1] as a PNG grid with ``per_row`` columns."""
    with atomic_path(path) as tmp:
        torchvision.utils.save_image(images.clamp(0, 1), tmp, nrow=per_row, padding=2, format="png")
