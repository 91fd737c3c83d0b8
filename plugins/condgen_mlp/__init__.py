"""``mlp`` encoder and decoder: fully connected networks on flattened inputs.

The seed model is ``mlp`` with one hidden layer of 512: 794 -> 512 -> 2x2 for
the encoder, 12 -> 512 -> 784 Bernoulli logits for the decoder.

Only the configs and the hook live here: the components are registered by path
(``condgen_mlp.networks``), so listing and validating never import torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import condgen


Activation = Literal["relu", "tanh", "elu", "silu"]


class MLPEncoderConfig(condgen.ComponentConfig):
    hidden: list[int] = Field(default_factory=lambda: [512])
    latent_dim: int = Field(2, gt=0)
    activation: Activation = "relu"


class MLPDecoderConfig(condgen.ComponentConfig):
    hidden: list[int] = Field(default_factory=lambda: [512])
    activation: Activation = "relu"
    likelihood: Literal["bernoulli", "continuous_bernoulli"] = "bernoulli"


@condgen.hookimpl
def register_components(register):
    register("encoder", "mlp", "condgen_mlp.networks:MLPEncoder", MLPEncoderConfig)
    register("decoder", "mlp", "condgen_mlp.networks:MLPDecoder", MLPDecoderConfig)
