"""``mlp`` encoder and decoder: fully connected networks on flattened inputs.

The seed model is ``mlp`` with one hidden layer of 512: 794 -> 512 -> 2x2 for
the encoder, 12 -> 512 -> 784 Bernoulli logits for the decoder. The decoder may end
in any of condgen's likelihoods (``condgen.likelihoods``): Gaussian, discretised logistic mixture.

Only the configs and the hook live here: the components are registered by path
(``condgen_mlp.networks``), so listing and validating never import torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import condgen

Activation = Literal["relu", "tanh", "elu", "silu"]


class MLPEncoderConfig(condgen.ComponentConfig):
    hidden: list[condgen.Width] = Field(default_factory=lambda: [512], max_length=64)
    latent_dim: condgen.Width = 2
    activation: Activation = "relu"


class MLPDecoderConfig(condgen.LikelihoodOptions):
    hidden: list[condgen.Width] = Field(default_factory=lambda: [512], max_length=64)
    activation: Activation = "relu"


@condgen.hookimpl
def register_components(register):
    register("encoder", "mlp", "condgen_mlp.networks:MLPEncoder", MLPEncoderConfig)
    register("decoder", "mlp", "condgen_mlp.networks:MLPDecoder", MLPDecoderConfig)
