"""The ``mnist`` dataset: 28x28 digits, conditioned on the one-hot label.

Reads the IDX files with torchvision's own MNIST reader and keeps each split
as one uint8 tensor; batches are gathered by index and scaled to [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import Field

import condgen
from condgen.compat import torchvision

NUM_CLASSES = 10
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class MNISTConfig(condgen.ComponentConfig):
    root: Path | None = Field(None, description="folder holding MNIST/raw; default $CONDGEN_DATA_DIR, else ./data")
    download: bool = Field(True, description="download the files into root when they are missing")
    limit: int | None = Field(None, gt=0, description="use only the first N examples of each split (quick runs)")


class MNIST:
    x_shape = (1, 28, 28)
    condition_shape = (NUM_CLASSES,)
    num_classes = NUM_CLASSES

    def __init__(self, config: MNISTConfig, context: condgen.BuildContext | None = None) -> None:
        self.config = config
        self.root = condgen.resolve_data_root(config.root)
        self._splits: dict[str, condgen.TensorSplit] = {}

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if labels.numel() and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise condgen.UserError(f"MNIST labels are 0-{NUM_CLASSES - 1}, got {labels.tolist()}.")
        return F.one_hot(labels.long(), NUM_CLASSES).to(torch.float32)

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
            self._splits[split] = condgen.TensorSplit(
                x.unsqueeze(1).contiguous(), self.conditions_for_labels(labels), scale=1 / 255, labels=labels
            )
        return self._splits[split]

    def _read(self, train: bool):
        raw = self.root / "MNIST" / "raw"
        if self.root.exists() and not self.root.is_dir():
            raise condgen.DataError(f"The MNIST data root {str(self.root)!r} is a file, not a folder.")
        if not _all_present(raw):
            if not self.config.download:
                raise self._missing(raw, "downloading is switched off (download: false)")
            try:
                torchvision.datasets.MNIST(str(self.root), train=train, download=True)
            except (RuntimeError, OSError) as error:
                reason = str(error).strip().splitlines()[0]
                raise self._missing(raw, f"downloading failed ({reason})") from None
        try:
            return torchvision.datasets.MNIST(str(self.root), train=train, download=False)
        except (RuntimeError, OSError, ValueError, TypeError, EOFError) as error:
            raise condgen.DataError(
                f"The MNIST files in {str(raw)!r} cannot be read ({type(error).__name__}: {error}).",
                hint="Delete them and download again, or copy intact files (see the canonical md5s).",
            ) from None

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


def _all_present(raw: Path) -> bool:
    return all((raw / name).is_file() for name in RAW_FILES)


def build(config: MNISTConfig, context: condgen.BuildContext) -> MNIST:
    return MNIST(config, context)


@condgen.hookimpl
def register_components(register):
    register("dataset", "mnist", build, MNISTConfig)
