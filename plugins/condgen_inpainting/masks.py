"""Which pixels an inpainting condition reveals: ``quadrants``, ``rectangle`` and ``pixels`` masks.

Each mask config draws boolean masks of shape (n, 1, H, W), true where the
pixel is observed, from a ``torch.Generator`` (or torch's global RNG when
given ``None``), and always leaves at least one pixel observed and one hidden.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # torch is imported in the methods that draw masks: condgen validate reads these configs without it
    import torch


class _Mask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: whether masks differ between draws (the test split then seeds them per example)
    random: ClassVar[bool] = False

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError


class Quadrants(_Mask):
    """Pyro's CVAE example layouts: 1 observed = bottom-left; 2 = left half; 3 = all but bottom-right."""

    name: Literal["quadrants"] = "quadrants"
    observed: Literal[1, 2, 3] = Field(1, description="how many quadrants are observed (1, 2 or 3)")

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None) -> torch.Tensor:
        import torch

        mask = torch.zeros(height, width, dtype=torch.bool)
        top, left = slice(0, height // 2), slice(0, width // 2)
        bottom, right = slice(height // 2, height), slice(width // 2, width)
        mask[bottom, left] = True
        if self.observed >= 2:
            mask[top, left] = True
        if self.observed == 3:
            mask[top, right] = True
        return mask.expand(n, 1, height, width)


class Rectangle(_Mask):
    """One random rectangle hidden, each side a uniform fraction of the image's between min_size and max_size."""

    name: Literal["rectangle"] = "rectangle"
    min_size: float = Field(0.25, gt=0, lt=1, description="smallest side of the hidden rectangle, as a fraction")
    max_size: float = Field(0.75, gt=0, lt=1, description="largest side of the hidden rectangle, as a fraction")
    random: ClassVar[bool] = True

    @model_validator(mode="after")
    def _ordered(self) -> "Rectangle":
        if self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is larger than max_size {self.max_size}")
        return self

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None) -> torch.Tensor:
        import torch

        u = torch.rand(n, 4, generator=generator)
        sides = []
        for size, fraction, start in ((height, u[:, 0], u[:, 2]), (width, u[:, 1], u[:, 3])):
            low = max(1, math.ceil(self.min_size * size))
            high = max(low, min(size - 1, math.floor(self.max_size * size)))
            length = (low + (fraction * (high - low + 1)).long()).clamp(max=high)
            first = (start * (size - length + 1)).long()
            position = torch.arange(size)
            sides.append((position >= first[:, None]) & (position < (first + length)[:, None]))
        hidden = sides[0][:, :, None] & sides[1][:, None, :]
        return (~hidden).unsqueeze(1)


class Pixels(_Mask):
    """A random subset of exactly round(observed * H * W) pixels observed."""

    name: Literal["pixels"] = "pixels"
    observed: float = Field(0.5, gt=0, lt=1, description="fraction of the pixels observed")
    random: ClassVar[bool] = True

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None) -> torch.Tensor:
        import torch

        total = height * width
        count = min(total - 1, max(1, round(self.observed * total)))
        chosen = torch.rand(n, total, generator=generator).argsort(1)[:, :count]
        mask = torch.zeros(n, total, dtype=torch.bool)
        mask.scatter_(1, chosen, True)
        return mask.view(n, 1, height, width)


Mask = Annotated[Union[Quadrants, Rectangle, Pixels], Field(discriminator="name")]
