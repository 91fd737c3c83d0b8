"""The ``condgen_mnist`` components' code, imported when a recipe builds one."""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import torch
import torch.nn.functional as F

import condgen

from . import MNISTConfig
from .idx import read_idx

NUM_CLASSES = 10


RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class DynamicallyBinarized(condgen.TensorSplit):
    """Each batch draws new binary pixels from the stored intensities (torch's global RNG, so seeded runs repeat)."""

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, condition = super().batch(index)
        return torch.bernoulli(x), condition


TEST_BINARIZATION_SEED = 0


class MNIST:
    x_shape = (1, 28, 28)
    condition_shape = (NUM_CLASSES,)
    num_classes = NUM_CLASSES

    def __init__(self, config: MNISTConfig, context: condgen.BuildContext | None = None) -> None:
        self.config = config
        self.root = condgen.resolve_data_root(config.root)
        self._splits: dict[str, condgen.TensorSplit] = {}

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        bad = labels[(labels < 0) | (labels >= NUM_CLASSES)]
        if bad.numel():
            shown = ", ".join(map(str, sorted(set(bad.tolist()))))
            raise condgen.UserError(f"MNIST labels are 0-{NUM_CLASSES - 1}, got {shown}.")
        return F.one_hot(labels.long(), NUM_CLASSES).to(torch.float32)

    def metric_network(self) -> torch.nn.Module:
        """The shipped, hash-checked classifier ``condgen eval`` judges MNIST samples with."""
        from .metric_net import load_metric_net

        return load_metric_net()

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        return self.conditions_for_labels(torch.arange(NUM_CLASSES).repeat_interleave(per_row))

    def load(self, split: str) -> condgen.TensorSplit:
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        if split not in self._splits:
            data = self._read(train=split == "train")
            x, labels = data.data, data.targets
            if self.config.limit is not None:
                x, labels = x[: self.config.limit], labels[: self.config.limit]
            x, conditions = x.unsqueeze(1).contiguous(), self.conditions_for_labels(labels)
            if not self.config.binarize:
                self._splits[split] = condgen.TensorSplit(x, conditions, scale=1 / 255, labels=labels)
            elif split == "train":
                self._splits[split] = DynamicallyBinarized(x, conditions, scale=1 / 255, labels=labels)
            else:
                generator = torch.Generator().manual_seed(TEST_BINARIZATION_SEED)
                fixed = torch.bernoulli(x / 255, generator=generator).to(torch.uint8)
                self._splits[split] = condgen.TensorSplit(fixed, conditions, labels=labels)
        return self._splits[split]

    def _read(self, train: bool):
        raw = self.root / "MNIST" / "raw"
        if self.root.exists() and not self.root.is_dir():
            raise condgen.DataError(f"The MNIST data root {str(self.root)!r} is a file, not a folder.")
        if not _all_present(raw):
            if not self.config.download:
                raise self._missing(raw, "downloading is switched off (download: false)")
            try:
                with condgen.data.removed_on_failure(raw):
                    from condgen.compat import torchvision  # only to download: importing it costs about a second

                    torchvision.datasets.MNIST(str(self.root), train=train, download=True)
            except (RuntimeError, OSError) as error:
                raise self._missing(raw, f"downloading failed: {condgen.data.download_failure(error)}") from None
        images, labels = (raw / name for name in (RAW_FILES[0:2] if train else RAW_FILES[2:4]))
        count = _check_idx(images, IMAGES_MAGIC, (28, 28))
        if count != _check_idx(labels, LABELS_MAGIC, ()):
            raise _damaged(labels, f"it holds {_check_idx(labels, LABELS_MAGIC, ())} labels for {count} images")
        try:
            data = read_idx(images, labels, count)  # one copy in memory; torchvision's reader held three
        except (RuntimeError, OSError, ValueError, TypeError, EOFError, AssertionError) as error:
            raise condgen.DataError(
                f"The MNIST files in {str(raw)!r} cannot be read ({type(error).__name__}: {error}).",
                hint="Delete them and download again, or copy intact files (see the canonical md5s).",
            ) from None
        bad = (data.targets < 0) | (data.targets >= NUM_CLASSES)
        if bad.any():
            index = int(bad.nonzero()[0])
            raise _damaged(labels, f"label {int(data.targets[index])} at position {index} is not a digit 0-9")
        return data

    def _missing(self, raw: Path, why: str) -> condgen.DataError:
        names = ", ".join(RAW_FILES)
        return condgen.DataError(
            f"MNIST is not in {str(raw.resolve())!r} and {why}.",
            hint=(
                f"Put the four uncompressed files ({names}) in that folder, or point the data root at a folder "
                f"that has MNIST/raw/ inside: set data.root in the recipe, pass data.root=PATH, or set "
                f"${condgen.data.DATA_DIR_ENV}. On a connected machine condgen downloads them there itself."
            ),
        )


IMAGES_MAGIC, LABELS_MAGIC = 0x803, 0x801  # IDX: unsigned bytes, 3 or 1 dimensions


def _check_idx(path: Path, magic: int, item_shape: tuple[int, ...]) -> int:
    """The number of examples ``path`` declares, once its header and size are checked (cheap: no pixels read)."""
    header_size = 4 * (2 + len(item_shape))
    try:
        with open(path, "rb") as handle:
            header = handle.read(header_size)
            size = os.fstat(handle.fileno()).st_size
    except OSError as error:
        raise condgen.DataError(f"The MNIST file {str(path)!r} cannot be read: {error.strerror or error}.") from None
    if len(header) < header_size:
        raise _damaged(path, f"it is truncated: {size} bytes, shorter than its {header_size}-byte IDX header")
    found, count, *shape = struct.unpack(f">{len(header) // 4}I", header)
    if found != magic:
        raise _damaged(path, f"its IDX magic number is 0x{found:08x}, expected 0x{magic:08x}")
    if tuple(shape) != item_shape:
        raise _damaged(path, f"its header declares items of shape {tuple(shape)}, expected {item_shape}")
    expected = header_size + count * math.prod(item_shape)
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise _damaged(path, f"it is {state}: {size} bytes where its header declares {count} items ({expected} bytes)")
    return count


def _damaged(path: Path, why: str) -> condgen.DataError:
    return condgen.DataError(
        f"The MNIST file {str(path)!r} is corrupted: {why}.",
        hint="Delete the MNIST/raw files and download them again, or copy intact ones (check their md5s).",
    )


def _all_present(raw: Path) -> bool:
    return all((raw / name).is_file() for name in RAW_FILES)


def build(config: MNISTConfig, context: condgen.BuildContext) -> MNIST:
    return MNIST(config, context)
