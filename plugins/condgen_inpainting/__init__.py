"""Inpainting: the ``inpainting`` dataset wrapper, which masks any image dataset plugin.

``data: {name: inpainting, base: {name: mnist}, mask: {name: quadrants, observed: 1}, fill: -1}``
conditions on the observed pixels (the rest set to ``fill``) plus the mask;
masks are ``quadrants`` (Pyro's CVAE example layouts), ``rectangle`` and ``pixels``.

The config and the masks' configs live here and in ``masks``; the dataset
(``condgen_inpainting.dataset``) is imported when a recipe builds it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

import condgen

from .masks import Mask, Pixels, Quadrants, Rectangle

__all__ = ["InpaintingConfig", "Mask", "Pixels", "Quadrants", "Rectangle"]


class InpaintingConfig(condgen.ComponentConfig):
    base: Annotated[condgen.ComponentBlock, condgen.BlockKind("dataset")] = Field(
        description="the image dataset to mask: any dataset plugin whose x has shape (C, H, W)"
    )
    mask: Mask = Field(default_factory=Quadrants, description="which pixels are observed")
    fill: float = Field(-1.0, ge=-1e3, le=1e3, description="value of the unobserved pixels in the condition")
    likelihood: Literal["unobserved", "all"] = Field(
        "unobserved", description="which pixels the model's likelihood scores: the ones to predict, or every one"
    )
    test_seed: condgen.Seed = Field(0, description="seeds the test split's random masks, one per example")
    preview_examples: int = Field(10, ge=1, le=1000, description="test examples in the sample grid, one per row")


@condgen.hookimpl
def register_components(register):
    register("dataset", "inpainting", "condgen_inpainting.dataset:build", InpaintingConfig)
