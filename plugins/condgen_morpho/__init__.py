"""Morpho-MNIST: stroke thickness, slant, width, height and area, measured from grayscale images, as conditions.

- ``condgen_morpho.measure`` measures any stack of grayscale images (numpy,
  scipy and scikit-image only), after Castro et al. (JMLR 2019);
- ``condgen_morpho.cache`` keeps the measurements beside the data, keyed by the
  images' hash and the measurement version;
- the ``morpho`` dataset wraps any grayscale image dataset:
  ``data: {name: morpho, base: {name: mnist}, attributes: [thickness, slant], label: true}``.
"""

from __future__ import annotations

import condgen

from .config import MorphoConfig

__all__ = ["MorphoConfig"]


@condgen.hookimpl
def register_components(register):
    register("dataset", "morpho", "condgen_morpho.dataset:build", MorphoConfig)
