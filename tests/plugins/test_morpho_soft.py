"""The differentiable stand-ins of the measurements: what they read on strokes of known shape, and their gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from condgen_morpho import measure as M
from condgen_morpho.soft import soft_measure
from helpers import bar_images
from scipy.stats import spearmanr
from test_morpho_measure import stroke


def soft(*images: np.ndarray) -> dict[str, torch.Tensor]:
    return soft_measure(torch.from_numpy(np.stack(images))[:, None])


@pytest.mark.parametrize("width", [2.0, 3.0, 4.0, 6.0])
def test_a_rectangle_reads_twice_its_area_over_its_perimeter(width: float) -> None:
    length = 16.0
    result = soft(stroke(width, length))
    assert result["thickness"][0].item() == pytest.approx(length * width / (length + width), rel=0.05)
    assert result["area"][0].item() == pytest.approx(length * width, rel=0.12)
    assert result["slant"][0].item() == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("shear", [-0.4, 0.2, 0.5])
def test_slant_is_the_measurements_definition_on_the_soft_foreground(shear: float) -> None:
    image = stroke(3.0, shear=shear)
    assert soft(image)["slant"][0].item() == pytest.approx(M.measure(image[None], 1)["slant"][0], abs=0.02)
    assert soft(image)["slant"][0].item() == pytest.approx(math.atan(shear), abs=0.02)


def test_they_rank_digits_like_the_measurements() -> None:
    images, _ = bar_images(70, seed=3)
    present = images.flatten(1).amax(1) > 0
    pixels = images[present].float() / 255
    exact = M.measure(pixels.numpy(), 1)
    result = soft_measure(pixels[:, None])
    for name in ("thickness", "slant", "area"):
        assert spearmanr(result[name].numpy(), exact[name]).statistic > 0.95, name


def test_gradients_are_finite_even_for_a_blank_image_and_thin_a_thick_stroke() -> None:
    blank = torch.zeros(1, 1, 28, 28, requires_grad=True)
    values = soft_measure(blank)
    torch.stack(list(values.values())).sum().backward()
    assert torch.isfinite(blank.grad).all()

    thick = torch.from_numpy(stroke(5.0))[None, None].requires_grad_(True)
    before = soft_measure(thick)["thickness"]
    before.sum().backward()
    step = thick.grad / thick.grad.abs().max()
    thinner = (thick - 0.5 * step).clamp(0, 1)  # a step down the gradient: the stroke reads thinner, also when measured
    assert soft_measure(thinner)["thickness"].item() < before.item()
    assert M.measure(thinner.detach()[:, 0].numpy(), 1)["thickness"][0] < M.measure(thick.detach()[:, 0].numpy(), 1)["thickness"][0]


def test_images_that_are_not_grayscale_stacks_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(n, 1, H, W\)"):
        soft_measure(torch.zeros(2, 3, 28, 28))
