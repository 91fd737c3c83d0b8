"""Measurements cached on disk, keyed by the images' content and the measurement version.

Measuring MNIST takes tens of seconds; loading the cache, well under one. A
cache file is trusted only when it parses as plain arrays (``allow_pickle``
off: loading never runs code), names this measurement version and the SHA-256
of exactly these images, and holds one finite-or-NaN value per image and
attribute. Anything else (truncated, edited, stale, from other images) is
measured afresh and rewritten. A folder that cannot be written (a read-only
data copy) costs the time of measuring, never the run.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

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
    path = cache_path(folder, key)
    cached = read(path, key, len(images))
    if cached is not None:
        return cached
    measured = measurement.measure(images, workers)
    write(path, key, measured)
    return measured


def read(path: Path, key: str, count: int) -> dict[str, np.ndarray] | None:
    """The cached measurements, or ``None`` when the file is missing, unreadable, stale or for other images."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["version"]) != measurement.VERSION or str(stored["digest"]) != key:
                return None
            values = {name: np.asarray(stored[name], dtype=np.float64) for name in measurement.ATTRIBUTES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, TypeError):
        return None
    if any(value.shape != (count,) or np.isinf(value).any() for value in values.values()):
        return None
    return values


def write(path: Path, key: str, values: dict[str, np.ndarray]) -> None:
    """Write atomically (a temporary file renamed into place); warn instead of failing when the folder is read-only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, version=measurement.VERSION, digest=key, **values)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; the data folder is shared
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError as error:
        warnings.warn(f"could not cache the Morpho-MNIST measurements in {str(path.parent)!r} ({error}); "
                      "they will be measured again next time", stacklevel=2)
