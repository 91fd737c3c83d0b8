"""Morpho-MNIST: stroke thickness, slant, width, height and area, measured from grayscale images, as conditions.

- ``condgen_morpho.measure`` measures any stack of grayscale images (numpy,
  scipy and scikit-image only), after Castro et al. (JMLR 2019);
- ``condgen_morpho.cache`` keeps the measurements beside the data, keyed by the
  images' hash and the measurement version;
- the ``morpho`` dataset wraps any grayscale image dataset:
  ``data: {name: morpho, base: {name: mnist}, attributes: [thickness, slant], label: true}``;
- the ``attribute_consistency`` head (``condgen_morpho.consistency``) asks generated images to measure
  like the digits they stand for, through differentiable stand-ins of the measurements
  (``condgen_morpho.soft``).
"""

from __future__ import annotations

import condgen

from .config import ConsistencyConfig, MorphoConfig

__all__ = ["ConsistencyConfig", "MorphoConfig"]


@condgen.hookimpl
def register_components(register):
    register("dataset", "morpho", "condgen_morpho.dataset:build", MorphoConfig)
    register("head", "attribute_consistency", "condgen_morpho.consistency:AttributeConsistency", ConsistencyConfig)
