"""The ``condgen_conv`` components' code, imported when a recipe builds one."""

from __future__ import annotations

import math

import torch
from torch import distributions as D
from torch import nn

import condgen

from . import Activation, ConvDecoderConfig, ConvEncoderConfig

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


def _spatial(shape: tuple[int, ...], who: str, stages: int) -> tuple[int, int, int]:
    step = 2**stages
    if len(shape) != 3 or shape[1] % step or shape[2] % step:
        raise condgen.PluginError(
            f"The conv {who} with {stages} stages needs images of shape (C, H, W) with H and W divisible by "
            f"{step}, got {tuple(shape)}.",
            hint="Use fewer entries in channels (one per stage), or resize the images; "
            "for a vector condition, use the conditioner {name: concat, layout: channels}.",
        )
    return shape


class ConvEncoder(nn.Module):
    """q(z | x, c) from the conditioner's image (x with c as channels)."""

    def __init__(self, config: ConvEncoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        channels = config.channels
        c_in, h, w = _spatial(tuple(context.input_shape), "encoder", len(channels))
        self.latent_dim = config.latent_dim
        act, norm = config.activation, config.batch_norm
        step = 2 ** len(channels)
        self.blocks = nn.ModuleList([
            Modulated(nn.Conv2d(c_prev, c, 4, 2, 1), c, act, norm and i > 0, context)
            for i, (c_prev, c) in enumerate(zip([c_in, *channels], channels))
        ])
        self.blocks.append(
            Modulated(nn.Sequential(nn.Flatten(), nn.Linear(channels[-1] * (h // step) * (w // step), config.hidden)),
                      config.hidden, act, False, context)
        )
        self.out = nn.Linear(config.hidden, 2 * config.latent_dim)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        h = joined
        for block in self.blocks:
            h = block(h, condition)
        mu, log_var = self.out(h).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)


class ConvDecoder(nn.Module):
    """p(x | z, c) from transposed convolutions, independent over pixels, in the config's likelihood."""

    def __init__(self, config: ConvDecoderConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        channels = config.channels
        c_out, h, w = _spatial(tuple(context.output_shape), "decoder", len(channels))
        self.output_shape = (c_out, h, w)
        self.config = config
        self.values = condgen.values_per_entry(config)
        act, norm = config.activation, config.batch_norm
        step = 2 ** len(channels)
        start = channels[0] * (h // step) * (w // step)
        self.blocks = nn.ModuleList([
            Modulated(nn.Linear(math.prod(context.input_shape), config.hidden), config.hidden, act, False, context),
            Modulated(nn.Sequential(nn.Linear(config.hidden, start), nn.Unflatten(1, (channels[0], h // step, w // step))),
                      channels[0], act, norm, context),
        ])
        self.blocks.extend(
            Modulated(nn.ConvTranspose2d(c_prev, c, 4, 2, 1), c, act, norm, context)
            for c_prev, c in zip(channels, channels[1:])
        )
        self.out = nn.ConvTranspose2d(channels[-1], self.values * c_out, 4, 2, 1)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        h = joined.flatten(1)
        for block in self.blocks:
            h = block(h, condition)
        raw = self.out(h)
        return condgen.likelihood(self.config, raw.unflatten(1, (self.values, self.output_shape[0])))
