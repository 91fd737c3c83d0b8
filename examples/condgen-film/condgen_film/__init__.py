"""``film``: feature-wise linear modulation (Perez et al. 2018) as a condgen conditioner.

Instead of appending the condition to the networks' inputs, every hidden layer
of the encoder and decoder is scaled and shifted by the condition:
``h -> h * (1 + gamma(c)) + beta(c)``. Works with any network that asks its
``BuildContext`` for modulators (condgen's ``mlp`` and ``conv`` do), whatever
the layer's shape: gamma and beta act on dimension 1 (units or channels).

Only condgen's public API is used, so this package could live anywhere.

Only the configs and the hook live here: the components are registered by path
(``condgen_film.layers``), so listing and validating never import torch.
"""

from __future__ import annotations

from pydantic import Field

import condgen


class FiLMConfig(condgen.ComponentConfig):
    concat_input: bool = Field(
        False, description="also append the condition to the networks' inputs, as concat does"
    )
    hidden: condgen.Width | None = Field(
        None, description="embed the condition with one hidden layer of this width before gamma and beta"
    )


@condgen.hookimpl
def register_components(register):
    register("conditioner", "film", "condgen_film.layers:FiLM", FiLMConfig)
