"""``conv`` encoder and decoder: DCGAN-like networks for small images (28x28 MNIST, 32x32 and 64x64 RGB).

Encoder: one stride-2 4x4 convolution per entry of ``channels`` (S stages:
H -> H/2 -> ... -> H/2^S) and a linear layer to the Gaussian's mean and
log-variance. Decoder: a linear layer to a (channels[0], H/2^S, W/2^S) map and
S stride-2 transposed convolutions back to (C, H, W), ending in the
parameters of the config's likelihood (Bernoulli logits by default; Gaussian or
discretised logistic mixture for natural images, see ``condgen.likelihoods``).
Any channel count; H and W divisible by 2^S. Each hidden layer asks the
conditioner for a modulator, so FiLM works here too.

Only the configs and the hook live here: the components are registered by path
(``condgen_conv.networks``), so listing and validating never import torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import condgen

Activation = Literal["relu", "leaky_relu", "elu", "silu"]


MAX_STAGES = 6


class ConvEncoderConfig(condgen.ComponentConfig):
    channels: list[condgen.Width] = Field(
        default_factory=lambda: [64, 128], min_length=1, max_length=MAX_STAGES,
        description="output channels of each stride-2 stage (one entry per halving of H and W)",
    )
    hidden: condgen.Width = Field(512, description="the linear layer between the convolutions and the Gaussian")
    latent_dim: condgen.Width = 2
    activation: Activation = "leaky_relu"
    batch_norm: bool = False


class ConvDecoderConfig(condgen.LikelihoodOptions):
    channels: list[condgen.Width] = Field(
        default_factory=lambda: [128, 64], min_length=1, max_length=MAX_STAGES,
        description="input channels of each stride-2 transposed stage (one entry per doubling of H and W)",
    )
    hidden: condgen.Width = 512
    activation: Activation = "relu"
    batch_norm: bool = False


@condgen.hookimpl
def register_components(register):
    register("encoder", "conv", "condgen_conv.networks:ConvEncoder", ConvEncoderConfig)
    register("decoder", "conv", "condgen_conv.networks:ConvDecoder", ConvDecoderConfig)
