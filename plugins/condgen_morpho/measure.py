"""Morphometrics of grayscale digit images, after Morpho-MNIST (Castro et al., JMLR 2019).

Each image is upsampled x4 (bicubic), binarised at half intensity, and measured:

- ``area`` (px^2): foreground pixels, in original pixels;
- ``thickness`` (px): twice the mean distance from the skeleton (the medial
  axis) to the background, so a stroke w pixels wide measures w;
- ``slant`` (rad, > 0 leaning right): arctan of the shear s = -cov(row, col)
  / var(row) of the foreground's second moments (rows grow downwards, so a
  right-leaning digit has columns that shrink as rows grow);
- ``width`` and ``height`` (px): the extent of the digit once de-slanted
  (each row shifted by s * (row - mean row)), along the columns and rows.

An image with no foreground (all zero, or too faint to pass the threshold) is
*missing*: every attribute is NaN, and callers decide what that means.

Only numpy, scipy and scikit-image are used here (no torch, no condgen), so
this module measures any stack of grayscale images, and worker processes that
fork from a torch process never touch torch's thread pools. scikit-image is
imported when something is first measured, not with the module: it takes a
good part of a second, and registering the plugin, sampling and reading the
cache never measure. Moments, extents
and area are vectorised over a chunk; skeleton and distance transform run per
image on its bounding box, in parallel over chunks.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

#: Bumped whenever a definition changes: cached measurements of another version are recomputed.
VERSION = 1
ATTRIBUTES = ("thickness", "slant", "width", "height", "area")
UNITS = {"thickness": "px", "slant": "rad", "width": "px", "height": "px", "area": "px^2"}
SCALE = 4
THRESHOLD = 0.5
CHUNK = 1000


def measure(images: np.ndarray, workers: int | None = None) -> dict[str, np.ndarray]:
    """Measure ``images`` ((n, H, W), uint8 0-255 or floats in [0, 1]); returns ``{attribute: (n,) float64}``.

    ``workers`` processes share the chunks (default: the cores this process
    may use); one worker measures in this process.
    """
    images = _as_unit_floats(images)
    if images.ndim != 3:
        raise ValueError(f"expected a stack of 2-D images (n, H, W), got shape {images.shape}")
    workers = available_cores() if workers is None else max(1, workers)
    chunks = [images[start : start + CHUNK] for start in range(0, len(images), CHUNK)]
    import skimage.morphology  # noqa: F401  before forking, so the workers inherit it instead of each importing it

    if workers == 1 or len(chunks) <= 1:
        parts = [measure_chunk(chunk) for chunk in chunks]
    else:
        # fork: the workers run numpy/scipy/scikit-image only and start in milliseconds
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context) as pool:
            parts = list(pool.map(measure_chunk, chunks))
    if not parts:
        return {name: np.zeros(0) for name in ATTRIBUTES}
    stacked = np.concatenate(parts)
    return {name: stacked[:, i] for i, name in enumerate(ATTRIBUTES)}


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _as_unit_floats(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255
    return images.astype(np.float32, copy=False)


def upsampling_matrix(size: int, scale: int = SCALE) -> np.ndarray:
    """(size * scale, size) bicubic interpolation weights (Keys, a = -0.75, half-pixel centres, edges clamped).

    Bicubic upsampling is separable, so a whole chunk upsamples as ``U @ X @ U.T``:
    two matrix products instead of a loop over images.
    """
    a = -0.75
    out = size * scale
    source = (np.arange(out) + 0.5) / scale - 0.5
    base = np.floor(source).astype(int)
    t = source - base
    matrix = np.zeros((out, size))
    for offset in (-1, 0, 1, 2):
        d = np.abs(t - offset)
        weight = np.where(
            d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1, np.where(d < 2, ((d - 5) * d + 8) * d * a - 4 * a, 0.0)
        )
        np.add.at(matrix, (np.arange(out), np.clip(base + offset, 0, size - 1)), weight)
    return matrix


def measure_chunk(images: np.ndarray) -> np.ndarray:
    """(n, H, W) floats in [0, 1] -> (n, 5) measurements in :data:`ATTRIBUTES` order, NaN rows for missing images."""
    n, height, width = images.shape
    upsampled = upsampling_matrix(height).astype(np.float32) @ images @ upsampling_matrix(width).T.astype(np.float32)
    binary = upsampled >= THRESHOLD
    result = np.full((n, len(ATTRIBUTES)), np.nan)
    present = binary.any((1, 2))
    if not present.any():
        return result
    binary = binary[present]
    on = binary.astype(np.float32)
    r = np.arange(binary.shape[1], dtype=np.float64)
    c = np.arange(binary.shape[2], dtype=np.float64)
    row_mass, col_mass = on.sum(2, dtype=np.float64), on.sum(1, dtype=np.float64)  # (m, H*), (m, W*)
    count = row_mass.sum(1)
    mean_r, mean_c = row_mass @ r / count, col_mass @ c / count
    var_r = row_mass @ (r * r) / count - mean_r**2
    cov_rc = np.einsum("ni,i->n", on @ c.astype(np.float32), r) / count - mean_r * mean_c
    shear = np.where(var_r > 1e-9, -cov_rc / np.maximum(var_r, 1e-9), 0.0)
    # de-slanted columns c' = c + s (r - mean r): the extremes lie at each row's first and last foreground pixel
    rows_on = row_mass > 0
    first = binary.argmax(2)
    last = binary.shape[2] - 1 - binary[:, :, ::-1].argmax(2)
    shift = shear[:, None] * (r[None, :] - mean_r[:, None])
    right = np.where(rows_on, last + shift, -np.inf).max(1)
    left = np.where(rows_on, first + shift, np.inf).min(1)
    top = rows_on.argmax(1)
    bottom = rows_on.shape[1] - 1 - rows_on[:, ::-1].argmax(1)
    result[present] = np.stack(
        [thickness(binary), np.arctan(shear), (right - left + 1) / SCALE, (bottom - top + 1) / SCALE, count / SCALE**2],
        axis=1,
    )
    return result


def thickness(binary: np.ndarray) -> np.ndarray:
    """2 x the mean Euclidean distance from skeleton pixels to the background, per image, in original pixels.

    Outside the image counts as background. The distance is exact and needs
    no distance transform of the whole image: with ``g(k, j)`` the distance
    from (k, j) to the nearest background pixel along row k, the squared
    distance of (i, j) is min over rows k of (i - k)^2 + g(k, j)^2, and only
    skeleton pixels ask for it.
    """
    m, height, width = binary.shape
    padded = np.zeros((m, height + 2, width + 2), dtype=bool)
    padded[:, 1:-1, 1:-1] = binary
    skeleton = [_skeleton_pixels(image) for image in padded]
    owner = np.concatenate([np.full(len(rows), index) for index, (rows, _) in enumerate(skeleton)])
    rows = np.concatenate([rows for rows, _ in skeleton])
    cols = np.concatenate([cols for _, cols in skeleton])
    along = _row_distance(padded)
    squared = np.empty(len(owner), dtype=np.int64)
    offsets = np.arange(height + 2)
    for start in range(0, len(owner), 50_000):  # bounds the (pixels, rows) table to a few tens of MB
        part = slice(start, start + 50_000)
        column = along[owner[part], :, cols[part]].astype(np.int64)  # (pixels, rows)
        squared[part] = ((rows[part, None] - offsets[None, :]) ** 2 + column**2).min(1)
    total = np.bincount(owner, weights=np.sqrt(squared), minlength=m)
    return 2 * total / np.bincount(owner, minlength=m) / SCALE


def _skeleton_pixels(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the skeleton of one padded binary image, computed on its bounding box."""
    from skimage.morphology import skeletonize  # see the module's docstring; imported once per process

    rows, cols = np.flatnonzero(padded.any(1)), np.flatnonzero(padded.any(0))
    top, left = rows[0] - 1, cols[0] - 1
    box = padded[top : rows[-1] + 2, left : cols[-1] + 2]
    found_rows, found_cols = np.nonzero(skeletonize(box))
    return found_rows + top, found_cols + left


def _row_distance(padded: np.ndarray) -> np.ndarray:
    """For each pixel, the distance along its row to the nearest background pixel (0 on the background)."""
    index = np.arange(padded.shape[2], dtype=np.int16)
    far = np.int16(10_000)  # farther than any row is long
    before = np.maximum.accumulate(np.where(padded, -far, index), axis=2)
    after = np.minimum.accumulate(np.where(padded, far, index)[:, :, ::-1], axis=2)[:, :, ::-1]
    return np.minimum(index - before, after - index)
