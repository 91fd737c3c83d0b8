"""The ``morpho`` dataset's configs: the options a recipe may set, without torch.

Kept apart from the code that builds the components, so ``condgen validate`` and
``condgen plugins`` read them without importing torch, numpy or scikit-image.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

import condgen

Attribute = Literal["thickness", "slant", "width", "height", "area"]


class MorphoConfig(condgen.ComponentConfig):
    base: Annotated[condgen.ComponentBlock, condgen.BlockKind("dataset")] = Field(
        description="the grayscale image dataset to measure: any dataset plugin whose x has shape (1, H, W), in [0, 1]"
    )
    attributes: list[Attribute] = Field(
        default_factory=lambda: ["thickness", "slant"],
        min_length=1,
        description="the measured attributes in the condition, in this order: " + ", ".join(typing.get_args(Attribute)),
    )
    label: bool = Field(True, description="put the base dataset's class label (one-hot) before the attributes")
    cache: Path | None = Field(
        None, description="folder of the measurement cache; default: morpho/ in the base dataset's data root"
    )
    workers: int | None = Field(None, ge=1, le=64, description="processes measuring images; default: every usable core")

    @field_validator("attributes")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"each attribute may appear once; repeated: {', '.join(repeated)}")
        return names
