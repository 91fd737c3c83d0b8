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

from .dataset import LabelledMorpho, MetricMorpho, Morpho, MorphoConfig, MorphoSplit, build

__all__ = ["LabelledMorpho", "MetricMorpho", "Morpho", "MorphoConfig", "MorphoSplit"]


@condgen.hookimpl
def register_components(register):
    register("dataset", "morpho", build, MorphoConfig)
