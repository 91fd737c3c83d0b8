"""What a memory-mapped image folder costs per batch, against the same split in memory and against DataLoader workers.

    python benchmarks/write_image_folder.py data/colour_mnist --colour --limit 12000
    python benchmarks/folder_batches.py data/colour_mnist --size 32 32 --mode RGB

``image_folder`` holds a split in memory when its uint8 cache fits under
``memory_limit_mb``, and memory-maps the cache file otherwise. This times one
epoch of training batches (a random permutation cut into batches, as the
trainer draws them, converted to float) three ways on the same cache:

- ``in_memory``: the split as one tensor (``memory_limit_mb`` unset);
- ``memory_mapped``: the same split with ``memory_limit_mb: 0`` (the path a
  folder too large for memory takes);
- ``dataloader_workers``: a ``torch.utils.data.DataLoader`` with ``--workers``
  persistent worker processes, each reading whole batches from the memory map
  (the streaming alternative, prefetching while the main process trains; the
  epoch that starts the workers is not timed).

The page cache is warm for all three (the cache file was just read), so this
is the path's own cost; a folder larger than memory also pays the disk, on
whichever path reads it. Compare the microseconds per image with a training
step's (``condgen run`` prints images per second).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def epoch_seconds(batches, read) -> float:
    started = time.perf_counter()
    for index in batches:
        read(index)
    return time.perf_counter() - started


class _Batches(torch.utils.data.Dataset):
    """Batch number -> the batch, read from the memory-mapped split inside a worker."""

    def __init__(self, split, batches) -> None:
        self.split, self.batches = split, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return self.split.batch(self.batches[i])


class _EpochBatches(torch.utils.data.Sampler):
    """The batch numbers of one epoch (set ``epoch`` before iterating; the workers persist across epochs)."""

    def __init__(self, per_epoch: int) -> None:
        self.per_epoch, self.epoch = per_epoch, 0

    def __len__(self) -> int:
        return self.per_epoch

    def __iter__(self):
        return iter(range(self.epoch * self.per_epoch, (self.epoch + 1) * self.per_epoch))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--size", type=int, nargs=2, default=[32, 32])
    parser.add_argument("--mode", choices=["L", "RGB"], default="RGB")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per path (the median is reported)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    from condgen_image_folder import ImageFolderConfig
    from condgen_image_folder.dataset import build

    def split(**options):
        config = ImageFolderConfig(root=args.root, size=args.size, mode=args.mode, label=True, **options)
        return build(config, None).load("train")

    in_memory, mapped = split(), split(memory_limit_mb=0)
    assert mapped.mapped and not in_memory.mapped
    n = len(in_memory)
    epochs = [
        list(torch.randperm(n, generator=torch.Generator().manual_seed(epoch)).split(args.batch))
        for epoch in range(args.epochs + 1)
    ]
    sampler = _EpochBatches(len(epochs[0]))
    loader = torch.utils.data.DataLoader(
        _Batches(mapped, [b for batches in epochs for b in batches]), batch_size=None, sampler=sampler,
        num_workers=args.workers, prefetch_factor=4, persistent_workers=True,
    )
    for _ in loader:  # epoch 0 starts the workers: not timed
        pass
    timings: dict[str, list[float]] = {"in_memory": [], "memory_mapped": [], "dataloader_workers": []}
    for epoch in range(1, args.epochs + 1):
        timings["in_memory"].append(epoch_seconds(epochs[epoch], in_memory.batch))
        timings["memory_mapped"].append(epoch_seconds(epochs[epoch], mapped.batch))
        sampler.epoch = epoch
        started = time.perf_counter()
        for _ in loader:
            pass
        timings["dataloader_workers"].append(time.perf_counter() - started)
    result = {"images": n, "batch": args.batch, "workers": args.workers}
    for name, seconds in timings.items():
        median = sorted(seconds)[len(seconds) // 2]
        result[name] = {"images_per_second": round(n / median), "microseconds_per_image": round(1e6 * median / n, 2)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
