"""Inpainting: the ``inpainting`` dataset wrapper, which masks any image dataset plugin.

``data: {name: inpainting, base: {name: mnist}, mask: {name: quadrants, observed: 1}, fill: -1}``
conditions on the observed pixels (the rest set to ``fill``) plus the mask;
masks are ``quadrants`` (Pyro's CVAE example layouts), ``rectangle`` and ``pixels``.
"""

from __future__ import annotations

import condgen

from .dataset import Inpainting, InpaintingConfig, MaskedSplit, build
from .masks import Pixels, Quadrants, Rectangle

__all__ = ["Inpainting", "InpaintingConfig", "MaskedSplit", "Pixels", "Quadrants", "Rectangle"]


@condgen.hookimpl
def register_components(register):
    register("dataset", "inpainting", build, InpaintingConfig)
