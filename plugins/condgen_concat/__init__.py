"""The ``concat`` conditioner: append the flattened condition to x and to z.

The seed CVAE's conditioning: the encoder reads ``[x, c]`` and the decoder
``[z, c]``, both flat vectors. With ``layout: channels`` the encoder gets
``x`` with ``c`` as extra channels instead, for convolutional encoders. ``none`` ignores the condition, which turns any
recipe into an unconditional VAE (a baseline, and the likelihood benchmark).

Only the configs and the hook live here: the components are registered by path
(``condgen_concat.conditioners``), so listing and validating never import torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import condgen


class ConcatConfig(condgen.ComponentConfig):
    layout: Literal["flat", "channels"] = Field(
        "flat",
        description="flat: [x, c] as one vector (MLPs); channels: c joins x as extra image channels, "
        "a vector condition tiled over the image (convolutional encoders)",
    )


class NoConditionConfig(condgen.ComponentConfig):
    pass


@condgen.hookimpl
def register_components(register):
    register("conditioner", "concat", "condgen_concat.conditioners:build", ConcatConfig)
    register("conditioner", "none", "condgen_concat.conditioners:NoCondition", NoConditionConfig)
