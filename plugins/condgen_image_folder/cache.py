"""Decode image files once into a uint8 array on disk; afterwards, load that array.

The cache is keyed by everything the pixels depend on: each file's relative
path, size and modification time, the target size and mode, and this module's
version. Any change makes a new key, so a stale cache is never read. A cache
file that does not load as exactly the expected array is decoded again.

Decoding runs in ``DataLoader`` workers (one per core, for folders large
enough to pay for starting them). Each file's header is read before its
pixels: an image larger than ``max_pixels`` is refused without being decoded.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from condgen.compat import torchvision
from condgen.engine.atomic import atomic_path
from condgen.errors import OutputError

from .scan import FileEntry

VERSION = 1
WORKER_THRESHOLD = 2000  # files; fewer decode faster in this process than workers take to start


@dataclass(frozen=True)
class DecodeSettings:
    size: tuple[int, int]
    mode: str
    max_pixels: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1 if self.mode == "L" else 3, *self.size)


@dataclass
class Decoded:
    """Pixels of every file (a zero image where decoding failed), what failed and why, the source sizes seen."""

    pixels: np.ndarray  # (N, C, H, W) uint8, possibly a read-only memory map
    failed: dict[int, str]
    source_sizes: list[tuple[int, int]]
    from_cache: bool


def cache_key(files: list[FileEntry], settings: DecodeSettings) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([VERSION, list(settings.size), settings.mode, settings.max_pixels]).encode())
    for entry in files:
        digest.update(f"\n{entry.relative}\0{entry.size}\0{entry.mtime_ns}".encode())
    return digest.hexdigest()[:32]


def decode_one(path: Path, settings: DecodeSettings) -> tuple[np.ndarray | None, str | None, tuple[int, int]]:
    """(pixels, None, source size) or (None, why it failed, (0, 0)); the header is checked before decoding."""
    height, width = settings.size
    try:
        with Image.open(path) as image:
            w, h = image.size
            if w * h > settings.max_pixels:
                return None, f"{w}x{h} pixels, over max_pixels={settings.max_pixels} (refused from its header)", (0, 0)
            image = image.convert(settings.mode)
    except Image.DecompressionBombError as error:
        return None, f"{error} (refused from its header)", (0, 0)
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        return None, f"not a readable image ({type(error).__name__}: {error})", (0, 0)
    if (h, w) != (height, width):
        scale = max(height / h, width / w)
        cover = (max(height, math.ceil(h * scale)), max(width, math.ceil(w * scale)))
        transforms = torchvision.transforms
        image = transforms.CenterCrop((height, width))(transforms.Resize(cover, antialias=True)(image))
    array = np.asarray(image, dtype=np.uint8)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(array), None, (w, h)


class _Files(torch.utils.data.Dataset):
    def __init__(self, root: Path, files: list[FileEntry], settings: DecodeSettings) -> None:
        self.root, self.files, self.settings = root, files, settings

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        pixels, error, size = decode_one(self.root / self.files[index].relative, self.settings)
        return index, pixels, error, size


def _collate(items):
    return items


def decode_all(root: Path, files: list[FileEntry], settings: DecodeSettings, workers: int) -> Decoded:
    pixels = np.zeros((len(files), *settings.shape), dtype=np.uint8)
    failed: dict[int, str] = {}
    sizes: set[tuple[int, int]] = set()
    loader = torch.utils.data.DataLoader(
        _Files(root, files, settings),
        batch_size=256,
        num_workers=workers if len(files) >= WORKER_THRESHOLD else 0,
        collate_fn=_collate,
    )
    for batch in loader:
        for index, array, error, size in batch:
            if error is not None:
                failed[index] = error
            else:
                pixels[index] = array
                sizes.add(size)
    return Decoded(pixels, failed, sorted(sizes), False)


def default_workers() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def load_or_decode(
    root: Path, files: list[FileEntry], settings: DecodeSettings, cache_dir: Path, *, memory_map: bool
) -> Decoded:
    """The decoded pixels of ``files``: from the cache when its key matches, else decoded now and cached."""
    key = cache_key(files, settings)
    array_path, notes_path = cache_dir / f"{key}.npy", cache_dir / f"{key}.json"
    cached = _read_cache(array_path, notes_path, (len(files), *settings.shape), memory_map)
    if cached is not None:
        return cached
    decoded = decode_all(root, files, settings, default_workers())
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(array_path) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, decoded.pixels, allow_pickle=False)
        notes = {"failed": {str(k): v for k, v in decoded.failed.items()}, "source_sizes": decoded.source_sizes}
        with atomic_path(notes_path) as tmp:
            tmp.write_text(json.dumps(notes))
    except (OSError, OutputError) as error:  # a read-only data folder: train from memory, decode again next time
        from .table import condgen_say

        reason = error.strerror if isinstance(error, OSError) else error.message
        condgen_say(f"cannot write the decode cache in {str(cache_dir)!r} ({reason}); not cached")
        return decoded
    if memory_map:
        decoded.pixels = np.load(array_path, mmap_mode="r", allow_pickle=False)
    return decoded


def _read_cache(array_path: Path, notes_path: Path, shape: tuple[int, ...], memory_map: bool) -> Decoded | None:
    """The cached pixels, or ``None`` when absent or not exactly what the key promises (then decoded anew)."""
    if not (array_path.is_file() and notes_path.is_file()):
        return None
    try:
        notes = json.loads(notes_path.read_text())
        pixels = np.load(array_path, mmap_mode="r" if memory_map else None, allow_pickle=False)
        failed = {int(k): str(v) for k, v in notes["failed"].items()}
        sizes = [(int(w), int(h)) for w, h in notes["source_sizes"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):
        return None
    if pixels.dtype != np.uint8 or pixels.shape != shape or any(not 0 <= k < shape[0] for k in failed):
        return None
    return Decoded(pixels, failed, sizes, True)
