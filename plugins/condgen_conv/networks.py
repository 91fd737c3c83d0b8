"""The ``conv`` networks, imported when a recipe builds one."""

from __future__ import annotations

import math

import torch
from torch import distributions as D
from torch import nn

import condgen
from . import Activation, ConvEncoderConfig, ConvDecoderConfig


_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU, "silu": nn.SiLU}


class Modulated(nn.Module):
    """layer -> (modulator) -> (batch norm) -> activation, one block of a conv stack."""

    def __init__(self, layer: nn.Module, features: int, activation: Activation, norm: bool, context) -> None:
        super().__init__()
        self.layer = layer
        self.norm = nn.BatchNorm2d(features) if norm else None
        self.modulator = context.modulator(features)
        self.activation = _ACTIVATIONS[activation]()

    def forward(self, h: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        h = self.layer(h)
        if self.norm is not None:
            h = self.norm(h)
        if self.modulator is not None:
            h = self.modulator(h, condition)
        return self.activation(h)


def _spatial(shape: tuple[int, ...], who: str) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
        raise condgen.PluginError(
            f"The conv {who} needs images of shape (C, H, W) with H and W divisible by 4, got {tuple(shape)}.",
            hint="For a vector condition, use the conditioner {name: concat, layout: channels}.",
        )
    return shape


class ConvEncoder(nn.Module):
    """q(z | x, c) from the conditioner's image (x with c as channels)."""

    def __init__(self, config: ConvEncoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        c_in, h, w = _spatial(tuple(context.input_shape), "encoder")
        c1, c2 = config.channels
        self.latent_dim = config.latent_dim
        act, norm = config.activation, config.batch_norm
        self.blocks = nn.ModuleList([
            Modulated(nn.Conv2d(c_in, c1, 4, 2, 1), c1, act, False, context),
            Modulated(nn.Conv2d(c1, c2, 4, 2, 1), c2, act, norm, context),
            Modulated(nn.Sequential(nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), config.hidden)),
                      config.hidden, act, False, context),
        ])
        self.out = nn.Linear(config.hidden, 2 * config.latent_dim)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        h = joined
        for block in self.blocks:
            h = block(h, condition)
        mu, log_var = self.out(h).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)


class ConvDecoder(nn.Module):
    """p(x | z, c) as independent Bernoullis from transposed convolutions."""

    def __init__(self, config: ConvDecoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        c_out, h, w = _spatial(tuple(context.output_shape), "decoder")
        c1, c2 = config.channels
        self.output_shape = (c_out, h, w)
        self.likelihood = config.likelihood
        act, norm = config.activation, config.batch_norm
        start = c1 * (h // 4) * (w // 4)
        self.blocks = nn.ModuleList([
            Modulated(nn.Linear(math.prod(context.input_shape), config.hidden), config.hidden, act, False, context),
            Modulated(nn.Sequential(nn.Linear(config.hidden, start), nn.Unflatten(1, (c1, h // 4, w // 4))),
                      c1, act, norm, context),
            Modulated(nn.ConvTranspose2d(c1, c2, 4, 2, 1), c2, act, norm, context),
        ])
        self.out = nn.ConvTranspose2d(c2, c_out, 4, 2, 1)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        h = joined.flatten(1)
        for block in self.blocks:
            h = block(h, condition)
        logits = self.out(h)
        family = D.Bernoulli if self.likelihood == "bernoulli" else D.ContinuousBernoulli
        return D.Independent(family(logits=logits, validate_args=False), 3, validate_args=False)
