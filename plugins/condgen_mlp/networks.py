"""The ``condgen_mlp`` components' code, imported when a recipe builds one."""

from __future__ import annotations

import math

import torch
from torch import distributions as D
from torch import nn

import condgen

from . import Activation, MLPDecoderConfig, MLPEncoderConfig

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}


class MLP(nn.Module):
    """Linear layers with an activation between them; each hidden layer's
    pre-activation is handed to the conditioner's modulator when it has one."""

    def __init__(self, sizes: list[int], activation: Activation, context: condgen.BuildContext) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        modulators: dict[str, nn.Module] = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                modulator = context.modulator(fan_out)
                if modulator is not None:
                    modulators[str(len(layers) - 1)] = modulator
                layers.append(_ACTIVATIONS[activation]())
        self.layers = nn.Sequential(*layers)
        self.modulators = nn.ModuleDict(modulators)

    def forward(self, h: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if not self.modulators:
            return self.layers(h)
        if condition is None:
            raise ValueError("this network's hidden layers are modulated by the condition: pass it")
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if str(i) in self.modulators:
                h = self.modulators[str(i)](h, condition)
        return h


class MLPEncoder(nn.Module):
    """q(z | x, c) = N(mu, diag(exp(log_var))) from one network."""

    def __init__(self, config: MLPEncoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.net = MLP([math.prod(context.input_shape), *config.hidden, 2 * config.latent_dim], config.activation, context)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        mu, log_var = self.net(joined.flatten(1), condition).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)


class MLPDecoder(nn.Module):
    """p(x | z, c), independent over the pixels, in the family the config's ``likelihood`` names."""

    def __init__(self, config: MLPDecoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.config = config
        self.values = condgen.values_per_entry(config)
        self.net = MLP(
            [math.prod(context.input_shape), *config.hidden, self.values * math.prod(self.output_shape)],
            config.activation,
            context,
        )

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        raw = self.net(joined.flatten(1), condition).view(-1, self.values, *self.output_shape)
        return condgen.likelihood(self.config, raw)
