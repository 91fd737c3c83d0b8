"""Morpho-MNIST measurements on synthetic strokes whose width, shear and extent are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from condgen_morpho import measure as M


def stroke(width: float, length: float = 16.0, shear: float = 0.0, size: int = 28) -> np.ndarray:
    """A parallelogram stroke, anti-aliased by 8x8 supersampling: ``width`` px across each row, ``length`` rows tall.

    Row y (growing downwards) is centred on column cx - shear * (y - cy), so shear > 0 leans right.
    """
    sub = 8
    y, x = (np.mgrid[0 : size * sub, 0 : size * sub] + 0.5) / sub
    centre = size / 2
    inside = (np.abs(x - (centre - shear * (y - centre))) <= width / 2) & (np.abs(y - centre) <= length / 2)
    return inside.reshape(size, sub, size, sub).mean((1, 3)).astype(np.float32)


def measured(*images: np.ndarray, workers: int = 1) -> dict[str, np.ndarray]:
    return M.measure(np.stack(images), workers=workers)


@pytest.mark.parametrize("width", [1.5, 2.0, 3.0, 4.0, 6.0])
def test_an_upright_stroke_measures_its_width_as_thickness_and_width(width: float) -> None:
    result = measured(stroke(width))
    # the skeleton's ends sit closer to the background than its middle, so thickness reads a little low
    assert result["thickness"][0] == pytest.approx(width, rel=0.1)
    assert result["width"][0] == pytest.approx(width, abs=0.5)  # binarised edges: half a pixel
    assert result["height"][0] == pytest.approx(16.0, abs=0.3)
    assert result["area"][0] == pytest.approx(16.0 * width, rel=0.03)
    assert result["slant"][0] == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("shear", [-0.5, -0.2, 0.25, 0.5])
def test_a_sheared_stroke_measures_the_arctan_of_its_shear_as_slant(shear: float) -> None:
    result = measured(stroke(3.0, shear=shear))
    assert result["slant"][0] == pytest.approx(math.atan(shear), abs=0.02)
    # de-slanted, the parallelogram is the upright stroke again; its thickness is the width across the slant
    assert result["width"][0] == pytest.approx(3.0, abs=0.5)
    assert result["height"][0] == pytest.approx(16.0, abs=0.3)
    assert result["thickness"][0] == pytest.approx(3.0 / math.sqrt(1 + shear**2), rel=0.1)


def test_slant_is_positive_for_a_stroke_leaning_right() -> None:
    right = stroke(2.0, shear=0.3)
    top_columns, bottom_columns = np.nonzero(right[6])[0], np.nonzero(right[21])[0]
    assert top_columns.mean() > bottom_columns.mean()  # the construction leans right: the top sits further right
    assert measured(right)["slant"][0] > 0.25


def test_thicker_strokes_measure_thicker() -> None:
    widths = [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0]
    thickness = measured(*[stroke(w) for w in widths])["thickness"]
    assert np.all(np.diff(thickness) > 0)


def test_an_image_without_foreground_is_missing_and_leaves_the_others_alone() -> None:
    blank, faint = np.zeros((28, 28), np.float32), np.full((28, 28), 0.2, np.float32)
    result = measured(stroke(2.0), blank, faint, stroke(4.0))
    for name in M.ATTRIBUTES:
        assert np.isnan(result[name][1]) and np.isnan(result[name][2])  # nothing reaches the half-intensity threshold
        assert np.isfinite(result[name][[0, 3]]).all()
    assert result["thickness"][3] > result["thickness"][0]


def test_a_stroke_touching_the_border_is_measured_as_if_outside_were_background() -> None:
    image = np.zeros((28, 28), np.float32)
    image[:, 0:3] = 1.0  # three columns along the left edge, all 28 rows
    result = measured(image)
    assert result["thickness"][0] == pytest.approx(3.0, rel=0.1)
    assert result["height"][0] == pytest.approx(28.0, abs=0.3)


def test_uint8_pixels_and_unit_floats_give_the_same_numbers() -> None:
    image = stroke(3.0, shear=0.2)
    as_bytes = np.round(image * 255).astype(np.uint8)
    a, b = measured(as_bytes), measured(as_bytes.astype(np.float32) / 255)
    for name in M.ATTRIBUTES:
        np.testing.assert_allclose(a[name], b[name])


@pytest.mark.slow
def test_two_worker_processes_give_exactly_the_numbers_of_one() -> None:
    generator = np.random.default_rng(0)
    images = np.stack([stroke(w, shear=s) for w, s in zip(generator.uniform(1, 5, 2100), generator.uniform(-0.5, 0.5, 2100))])
    one, two = M.measure(images, workers=1), M.measure(images, workers=2)  # 3 chunks, so two processes share them
    for name in M.ATTRIBUTES:
        np.testing.assert_array_equal(one[name], two[name])


def test_the_upsampling_matrix_is_torchs_bicubic_upsampling() -> None:
    x = torch.rand(2, 1, 28, 20, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    rows, cols = (torch.from_numpy(M.upsampling_matrix(n)).float() for n in (28, 20))
    torch.testing.assert_close(rows @ x @ cols.T, expected, atol=1e-5, rtol=0)


def test_an_empty_stack_measures_to_empty_arrays() -> None:
    result = M.measure(np.zeros((0, 28, 28), np.uint8))
    assert all(value.shape == (0,) for value in result.values())


@pytest.mark.slow  # a fresh interpreter: the only way to see what an import pulls in
def test_registering_the_plugin_does_not_import_scikit_image_until_something_is_measured() -> None:
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, condgen_morpho\n"
        "from condgen_morpho import measure\n"
        "before = 'skimage' in sys.modules\n"
        "measure.measure(np.ones((1, 8, 8)), workers=1)\n"
        "print(before, 'skimage' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
