"""The ``__NAME__`` dataset: synthetic "bar" images of 10 classes, generated in memory.

Class k lights up one horizontal bar (its row depends on k) over uniform
noise; the condition is the one-hot label. Deterministic for a given seed, no
downloads, and quick to learn: a stand-in to develop models with, and a
template for a real dataset plugin (shapes are known before any data is read).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]

NUM_CLASSES = 10


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``data``."""

    image_size: int = Field(12, ge=NUM_CLASSES, le=256, description="height and width of the square images")
    train_size: int = Field(1000, ge=1, le=1_000_000, description="examples in the train split")
    test_size: int = Field(200, ge=1, le=1_000_000, description="examples in the test split")
    noise: float = Field(0.2, ge=0, le=1, description="amplitude of the uniform background noise")
    seed: condgen.Seed = Field(0, description="the same seed always gives the same data")


class __CLASS__:
    """A labelled dataset: ``condgen sample --label K`` works with it."""

    num_classes = NUM_CLASSES
    condition_shape = (NUM_CLASSES,)

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext | None = None) -> None:
        self.config = config
        self.x_shape = (1, config.image_size, config.image_size)
        self._splits: dict[str, condgen.TensorSplit] = {}

    def load(self, split: str) -> condgen.TensorSplit:
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        if split not in self._splits:
            size = self.config.train_size if split == "train" else self.config.test_size
            self._splits[split] = self._generate(size, self.config.seed * 2 + (split == "test"))
        return self._splits[split]

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if labels.numel() and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise condgen.UserError(f"__NAME__ labels are 0-{NUM_CLASSES - 1}, got {labels.tolist()}.")
        return F.one_hot(labels.long(), NUM_CLASSES).to(torch.float32)

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        return self.conditions_for_labels(torch.arange(NUM_CLASSES).repeat_interleave(per_row))

    def _generate(self, size: int, seed: int) -> condgen.TensorSplit:
        generator = torch.Generator().manual_seed(seed)
        labels = torch.randint(NUM_CLASSES, (size,), generator=generator)
        x = torch.rand(size, *self.x_shape, generator=generator) * self.config.noise
        rows = bar_rows(labels, self.config.image_size)
        x[torch.arange(size), 0, rows, :] = 1.0
        return condgen.TensorSplit(x, self.conditions_for_labels(labels), labels=labels)


def bar_rows(labels: torch.Tensor, image_size: int) -> torch.Tensor:
    """The row each class lights up: spread evenly over the image."""
    return labels * image_size // NUM_CLASSES


@condgen.hookimpl
def register_components(register):
    register("dataset", "__NAME__", __CLASS__, __CLASS__Config)
