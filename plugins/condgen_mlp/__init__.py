"""``mlp`` encoder and decoder: fully connected networks on flattened inputs.

The seed model is ``mlp`` with one hidden layer of 512: 794 -> 512 -> 2x2 for
the encoder, 12 -> 512 -> 784 Bernoulli logits for the decoder.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import distributions as D
from torch import nn

import condgen

Activation = Literal["relu", "tanh", "elu", "silu"]
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}


def mlp(sizes: list[int], activation: Activation) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class MLPEncoderConfig(condgen.ComponentConfig):
    hidden: list[int] = Field(default_factory=lambda: [512])
    latent_dim: int = Field(2, gt=0)
    activation: Activation = "relu"


class MLPEncoder(nn.Module):
    """q(z | x, c) = N(mu, diag(exp(log_var))) from one network."""

    def __init__(self, config: MLPEncoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.net = mlp([math.prod(context.input_shape), *config.hidden, 2 * config.latent_dim], config.activation)

    def forward(self, joined: torch.Tensor) -> D.Distribution:
        mu, log_var = self.net(joined.flatten(1)).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)


class MLPDecoderConfig(condgen.ComponentConfig):
    hidden: list[int] = Field(default_factory=lambda: [512])
    activation: Activation = "relu"
    likelihood: Literal["bernoulli", "continuous_bernoulli"] = "bernoulli"


class MLPDecoder(nn.Module):
    """p(x | z, c) as independent (continuous) Bernoullis over the pixels."""

    def __init__(self, config: MLPDecoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.likelihood = config.likelihood
        self.net = mlp([math.prod(context.input_shape), *config.hidden, math.prod(self.output_shape)], config.activation)

    def forward(self, joined: torch.Tensor) -> D.Distribution:
        logits = self.net(joined.flatten(1)).view(-1, *self.output_shape)
        family = D.Bernoulli if self.likelihood == "bernoulli" else D.ContinuousBernoulli
        return D.Independent(family(logits=logits, validate_args=False), len(self.output_shape), validate_args=False)


@condgen.hookimpl
def register_components(register):
    register("encoder", "mlp", MLPEncoder, MLPEncoderConfig)
    register("decoder", "mlp", MLPDecoder, MLPDecoderConfig)
