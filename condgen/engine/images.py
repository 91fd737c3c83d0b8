"""Image grids as PNG files, written atomically.

The grid is laid out as torchvision's ``save_image(images, nrow=per_row,
padding=2)`` lays it out, pixel for pixel (a test compares the two), but
without importing torchvision: that import costs about a second (it pulls in
``torch._dynamo``), most of what ``condgen sample`` would otherwise spend
before it draws anything.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image

from .atomic import atomic_path

PADDING = 2


def grid(images: torch.Tensor, per_row: int) -> torch.Tensor:
    """``images`` (N, C, H, W) in [0, 1] tiled ``per_row`` to a row with a 2-pixel black border: (3 or C, H', W')."""
    images = images.detach().to("cpu", torch.float32).clamp(0, 1)
    if images.size(1) == 1:  # grayscale becomes RGB, as torchvision's grid does
        images = images.expand(-1, 3, -1, -1)
    if images.size(0) == 1:
        return images[0]
    count, channels, height, width = images.shape
    columns = min(per_row, count)
    rows = math.ceil(count / columns)
    out = torch.zeros(channels, rows * (height + PADDING) + PADDING, columns * (width + PADDING) + PADDING)
    for index in range(count):
        top = (index // columns) * (height + PADDING) + PADDING
        left = (index % columns) * (width + PADDING) + PADDING
        out[:, top : top + height, left : left + width] = images[index]
    return out


def save_grid(images: torch.Tensor, path: Path, per_row: int) -> None:
    """Save ``images`` (N, C, H, W) in [0, 1] as a PNG grid with ``per_row`` columns."""
    pixels = grid(images, per_row).mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    with atomic_path(path) as tmp:
        Image.fromarray(pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels).save(tmp, format="png")
