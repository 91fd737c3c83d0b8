"""``conv`` encoder and decoder: DCGAN-like networks for small images (28x28 MNIST and alike).

Encoder: two stride-2 4x4 convolutions (H -> H/2 -> H/4) and a linear layer to
the Gaussian's mean and log-variance. Decoder: a linear layer to a
(channels, H/4, W/4) map and two stride-2 transposed convolutions back to
(C, H, W) Bernoulli logits. Any channel count; H and W divisible by 4. Each
hidden layer asks the conditioner for a modulator, so FiLM works here too.

Only the configs and the hook live here: the components are registered by path
(``condgen_conv.networks``), so listing and validating never import torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import condgen


Activation = Literal["relu", "leaky_relu", "elu", "silu"]


class ConvEncoderConfig(condgen.ComponentConfig):
    channels: list[int] = Field(default_factory=lambda: [64, 128], min_length=2, max_length=2)
    hidden: int = Field(512, gt=0, description="the linear layer between the convolutions and the Gaussian")
    latent_dim: int = Field(2, gt=0)
    activation: Activation = "leaky_relu"
    batch_norm: bool = False


class ConvDecoderConfig(condgen.ComponentConfig):
    channels: list[int] = Field(default_factory=lambda: [128, 64], min_length=2, max_length=2)
    hidden: int = Field(512, gt=0)
    activation: Activation = "relu"
    batch_norm: bool = False
    likelihood: Literal["bernoulli", "continuous_bernoulli"] = "bernoulli"


@condgen.hookimpl
def register_components(register):
    register("encoder", "conv", "condgen_conv.networks:ConvEncoder", ConvEncoderConfig)
    register("decoder", "conv", "condgen_conv.networks:ConvDecoder", ConvDecoderConfig)
