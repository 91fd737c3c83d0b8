"""The real images' side of FID, cached beside the data: it depends only on those images and the metric network.

``condgen eval`` compares generated images with test images through the
metric network's features. The test side (a mean and a covariance, float64)
is the same for every run evaluated on the same data with the same network,
so it is computed once and kept in ``DATA_ROOT/fid/``. A cache file is
trusted only when it parses as plain arrays (``allow_pickle`` off: loading
never runs code), names this format's ``VERSION`` and the key it was written
under, and holds a finite mean and covariance of the right shapes. The key is
the SHA-256 of the images (dtype, shape, bytes), the network's weights and
the torch version (whose kernels the features come from). Anything else
(truncated, edited, stale, for other images or another network) is computed
afresh and rewritten; a folder that cannot be written (a read-only data copy)
costs the time of computing, never the evaluation.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..errors import OutputError
from ..evaluation import apply_in_batches, feature_statistics
from .atomic import atomic_path

#: bumped whenever what is stored, or how it is computed, changes: files of another version are recomputed
VERSION = 1

Statistics = tuple[torch.Tensor, torch.Tensor]


def cache_key(images: torch.Tensor, network: nn.Module) -> str:
    """SHA-256 of the format version, the torch version, the images and every tensor of the network's state."""
    hasher = hashlib.sha256(f"fid-reference v{VERSION} torch {torch.__version__}|".encode())
    _hash_tensor(hasher, "images", images)
    for name, tensor in network.state_dict().items():
        _hash_tensor(hasher, name, tensor)
    return hasher.hexdigest()


def _hash_tensor(hasher, name: str, tensor: torch.Tensor) -> None:
    array = np.ascontiguousarray(tensor.detach().cpu().numpy())
    hasher.update(f"{name} {array.dtype} {array.shape}|".encode())
    hasher.update(memoryview(array).cast("B"))


def cache_path(folder: Path, key: str) -> Path:
    return Path(folder) / f"fid-reference-v{VERSION}-{key[:24]}.npz"


def reference_statistics(network: nn.Module, images: torch.Tensor, folder: Path | None) -> Statistics:
    """The mean and covariance of ``network.features`` over ``images``: from ``folder``'s cache when valid,
    else computed (and cached there when it can be written)."""
    compute: Callable[[], Statistics] = lambda: feature_statistics(apply_in_batches(network.features, images))
    if folder is None:
        return compute()
    key = cache_key(images, network)
    path = cache_path(folder, key)
    cached = read(path, key)
    if cached is not None:
        return cached
    statistics = compute()
    write(path, key, statistics)
    return statistics


def read(path: Path, key: str) -> Statistics | None:
    """The cached statistics, or ``None`` when the file is missing, unreadable, stale or for other images."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["version"]) != VERSION or str(stored["key"]) != key:
                return None
            mean, covariance = np.asarray(stored["mean"]), np.asarray(stored["covariance"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, TypeError):
        return None
    if mean.dtype != np.float64 or covariance.dtype != np.float64 or mean.ndim != 1:
        return None
    if covariance.shape != (len(mean), len(mean)) or not (np.isfinite(mean).all() and np.isfinite(covariance).all()):
        return None
    return torch.from_numpy(mean), torch.from_numpy(covariance)


def write(path: Path, key: str, statistics: Statistics) -> None:
    """Write atomically; warn instead of failing when the folder cannot be written."""
    mean, covariance = (tensor.numpy() for tensor in statistics)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, version=VERSION, key=key, mean=mean, covariance=covariance)
    except (OSError, OutputError) as error:
        warnings.warn(
            f"could not cache the test images' FID statistics in {str(path.parent)!r} ({error}); "
            "they will be computed again next time",
            stacklevel=2,
        )
