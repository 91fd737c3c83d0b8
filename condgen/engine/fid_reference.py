"""The real images' side of FID, cached beside the data: it depends only on those images and the metric network.

``condgen eval`` compares generated images with test images through the
metric network's features. The test side (a mean and a covariance, float64)
is the same for every run evaluated on the same data with the same network,
so it is computed once and kept in ``DATA_ROOT/fid/`` by
:func:`~condgen.engine.array_cache.cached_arrays` (which says when a file is
trusted). The key is the SHA-256 of the images (dtype, shape, bytes), the
network's weights and the torch version (whose kernels the features come
from); a file under it is used only when it holds a finite mean and
covariance of the right shapes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..evaluation import apply_in_batches, feature_statistics
from .array_cache import cached_arrays

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

    def compute() -> dict[str, np.ndarray]:
        mean, covariance = feature_statistics(apply_in_batches(network.features, images))
        return {"mean": mean.numpy(), "covariance": covariance.numpy()}

    if folder is None:
        arrays = compute()
    else:
        key = cache_key(images, network)
        arrays = cached_arrays(cache_path(folder, key), key, VERSION, compute, _valid_statistics,
                               "the test images' FID statistics")
    return torch.from_numpy(arrays["mean"]), torch.from_numpy(arrays["covariance"])


def _valid_statistics(arrays: dict[str, np.ndarray]) -> bool:
    """Exactly a finite float64 mean (d,) and covariance (d, d): what :func:`feature_statistics` returns."""
    if set(arrays) != {"mean", "covariance"}:
        return False
    mean, covariance = arrays["mean"], arrays["covariance"]
    if mean.dtype != np.float64 or covariance.dtype != np.float64 or mean.ndim != 1:
        return False
    if covariance.shape != (len(mean), len(mean)):
        return False
    return bool(np.isfinite(mean).all() and np.isfinite(covariance).all())
