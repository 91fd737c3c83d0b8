"""Measurements cached on disk, keyed by the images' content and the measurement version.

Measuring MNIST takes tens of seconds; loading the cache, well under one. The
file is kept by :func:`condgen.engine.array_cache.cached_arrays` (which says
when a file is trusted) and used only when it holds one finite-or-NaN float64
value per image for each attribute. Files written before that module stored
their key as ``digest``; they fail the key check and are measured again once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from condgen.engine.array_cache import cached_arrays

from . import measure as measurement


def digest(images: np.ndarray) -> str:
    """SHA-256 of the images' shape, dtype and bytes."""
    images = np.ascontiguousarray(images)
    hasher = hashlib.sha256(f"{images.dtype} {images.shape}|".encode())
    hasher.update(memoryview(images).cast("B"))
    return hasher.hexdigest()


def cache_path(folder: Path, key: str) -> Path:
    return Path(folder) / f"morpho-v{measurement.VERSION}-{key[:24]}.npz"


def measure_cached(images: np.ndarray, folder: Path | None, workers: int | None = None) -> dict[str, np.ndarray]:
    """The measurements of ``images`` (uint8, (n, H, W)): from ``folder``'s cache when it is valid, else measured and cached."""
    if folder is None:
        return measurement.measure(images, workers)
    key = digest(images)

    def valid(values: dict[str, np.ndarray]) -> bool:
        return set(values) == set(measurement.ATTRIBUTES) and all(
            value.dtype == np.float64 and value.shape == (len(images),) and not np.isinf(value).any()
            for value in values.values()
        )

    return cached_arrays(cache_path(folder, key), key, measurement.VERSION,
                         lambda: measurement.measure(images, workers), valid, "the Morpho-MNIST measurements")
