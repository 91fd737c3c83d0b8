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


def _each_once(names: list[str]) -> list[str]:
    """An attribute listed twice would be a second condition column (morpho) or a doubled weight (the head)."""
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"each attribute may appear once; repeated: {', '.join(repeated)}")
    return names


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
        return _each_once(names)


SoftAttribute = Literal["thickness", "slant", "area"]


class ConsistencyConfig(condgen.ComponentConfig):
    """The ``attribute_consistency`` head: generated images should measure like the digits they stand for."""

    attributes: list[SoftAttribute] = Field(
        default_factory=lambda: ["thickness", "slant"], min_length=1,
        description="the measurements compared (differentiable stand-ins of measure's): thickness, slant, area",
    )
    lambda_reconstruction: float = Field(
        10.0, ge=0, le=1e6, description="reconstructions x_f against their digit x (encoder and decoder)"
    )
    lambda_prior: float = Field(
        10.0, ge=0, le=1e6,
        description="prior samples x_p against the digit whose condition they were drawn for (decoder); "
        "0 where the condition does not fix the attributes (a caption that may not name them)",
    )
    match: Literal["example", "distribution", "bin"] = Field(
        "example",
        description="example: each generated image against its own digit (for conditions that fix the attributes); "
        "distribution: the batch's sorted values against the real digits' (for conditions that do not, such as "
        "captions: the generated attributes are asked to be spread like the data's, not to copy each digit); "
        "bin: reconstructions as in example, and each prior sample only asked to fall in the bin (equal-count "
        "bins of the data, `bins` of them) its digit falls in (for conditions that name a bin: captions)",
    )
    bins: int = Field(3, ge=2, le=100, description="with match: bin, how many equal-count bins (captions: 3)")
    margin: float = Field(
        0.4, ge=0, le=10,
        description="with match: bin, how far inside its bin's edges a prior sample is asked to land, in units of "
        "the attribute's spread over the batch (over half a bin's width, a middle bin pulls to its centre; the "
        "soft measurement reads generated and real digits slightly differently, and the margin absorbs it)",
    )
    edge_momentum: float = Field(
        0.99, ge=0, lt=1,
        description="with match: bin, the bin edges are a running average of each batch's quantiles; this much of "
        "the old estimate is kept per step",
    )
    warmup_steps: int = Field(
        1000, ge=0, le=10_000_000,
        description="training steps over which the weights rise linearly from 0: an untrained decoder's grey "
        "blobs measure as nothing like digits, and full weight then swamps the likelihood",
    )
    sharpness: float = Field(16.0, gt=0, le=1000, description="slope of the soft threshold at half intensity")
    upsample: int = Field(2, ge=1, le=8, description="bilinear upsampling before measuring")

    @field_validator("attributes")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        return _each_once(names)
