"""Sample grids: the same pixels torchvision's save_image writes, without importing torchvision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from condgen.compat import torchvision
from condgen.engine.images import save_grid


@pytest.mark.parametrize(
    "shape, per_row",
    [((1, 1, 28, 28), 10), ((7, 1, 28, 28), 3), ((100, 1, 28, 28), 10), ((20, 3, 32, 32), 10), ((5, 3, 8, 8), 10)],
)
def test_a_grid_is_pixel_for_pixel_torchvisions(shape, per_row, tmp_path: Path) -> None:
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 1.2 - 0.1  # out of range: clamped
    save_grid(images, tmp_path / "ours.png", per_row)
    torchvision.utils.save_image(images.clamp(0, 1), tmp_path / "theirs.png", nrow=per_row, padding=2, format="png")
    ours, theirs = (np.array(Image.open(tmp_path / name)) for name in ("ours.png", "theirs.png"))
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs)


def test_writing_a_grid_leaves_no_partial_file_behind(tmp_path: Path) -> None:
    save_grid(torch.zeros(4, 1, 8, 8), tmp_path / "grid.png", 2)
    assert [path.name for path in tmp_path.iterdir()] == ["grid.png"]
