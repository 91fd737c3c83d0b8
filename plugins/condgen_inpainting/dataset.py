"""The ``inpainting`` dataset: any image dataset, conditioned on a masked copy of x.

The condition is ``(C + 1, H, W)``: the image with its unobserved pixels set
to ``fill``, then the mask (1 = observed) as one more channel. It is computed
per batch from the base dataset's x and a freshly drawn mask, so no second
copy of the data is ever held. Training masks come from torch's global RNG
(seeded by the run, checkpointed with it); test masks are seeded per example,
so every evaluation sees the same ones.
"""

from __future__ import annotations

from typing import Any

import torch

import condgen

from . import InpaintingConfig


def example_seed(seed: int, index: int) -> int:
    return (seed * 1_000_003 + index) % 2**63


class MaskedSplit:
    """A base split whose batches gain a condition (observed image + mask), built per batch."""

    def __init__(self, base: condgen.Split, dataset: "Inpainting", test_seed: int | None) -> None:
        self.base = base
        self.dataset = dataset
        self.test_seed = test_seed

    def __len__(self) -> int:
        return len(self.base)

    @property
    def labels(self) -> torch.Tensor | None:
        return getattr(self.base, "labels", None)

    def masks(self, index: torch.Tensor) -> torch.Tensor:
        """(n, 1, H, W) booleans, true where observed: seeded per example on the test split."""
        mask, (_, height, width) = self.dataset.config.mask, self.dataset.x_shape
        if self.test_seed is None or not mask.random:
            return mask.sample(len(index), height, width, None)
        generator = torch.Generator()
        return torch.cat(
            [mask.sample(1, height, width, generator.manual_seed(example_seed(self.test_seed, i))) for i in index.tolist()]
        )

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, _ = self.base.batch(index)
        return x, self.dataset.condition_for(x, self.masks(index))


class Inpainting:
    """Wraps the dataset of ``base``; satisfies :class:`condgen.MaskedDataset`."""

    def __init__(self, config: InpaintingConfig, context: condgen.BuildContext) -> None:
        self.config = config
        self.base = context.build(config.base)
        shape = tuple(self.base.x_shape)
        if len(shape) != 3:
            raise condgen.PluginError(
                f"The inpainting dataset needs images, x of shape (C, H, W); the dataset {config.base.name!r} "
                f"gives x of shape {shape}."
            )
        self.x_shape = shape
        self.condition_shape = (shape[0] + 1, *shape[1:])
        self._splits: dict[str, MaskedSplit] = {}

    def load(self, split: str) -> MaskedSplit:
        if split not in self._splits:
            seed = self.config.test_seed if split == "test" else None
            self._splits[split] = MaskedSplit(self.base.load(split), self, seed)
        return self._splits[split]

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        test = self.load("test")
        _, condition = test.batch(torch.arange(min(self.config.preview_examples, len(test))))
        return condition.repeat_interleave(per_row, dim=0)

    # -- condgen.MaskedDataset -------------------------------------------------
    def condition_for(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        observed = observed.to(torch.bool).expand(n, 1, height, width)
        image = torch.where(observed, x, torch.tensor(self.config.fill, dtype=x.dtype))
        return torch.cat([image, observed.to(x.dtype)], dim=1)

    def observed_mask(self, condition: torch.Tensor) -> torch.Tensor:
        return condition[:, -1:] > 0.5

    def paste(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.where(self.observed_mask(condition), condition[:, :-1], x)

    def likelihood_mask(self, condition: torch.Tensor) -> torch.Tensor | None:
        return None if self.config.likelihood == "all" else ~self.observed_mask(condition)


def build(config: InpaintingConfig, context: condgen.BuildContext) -> Any:
    return Inpainting(config, context)
