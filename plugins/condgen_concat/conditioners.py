"""The ``concat`` and ``none`` conditioners, imported when a recipe builds one."""

from __future__ import annotations

import math

import torch
from torch import nn

import condgen
from . import ConcatConfig, NoConditionConfig


class Concat(nn.Module):
    def __init__(self, layout: str = "flat") -> None:
        super().__init__()
        self.layout = layout

    def encoder_input_shape(self, x_shape, condition_shape):
        if self.layout == "flat" or len(x_shape) < 2:
            return (math.prod(x_shape) + math.prod(condition_shape),)
        return (x_shape[0] + _channels(condition_shape, x_shape), *x_shape[1:])

    def decoder_input_shape(self, latent_dim, condition_shape):
        return (latent_dim + math.prod(condition_shape),)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        if self.layout == "flat" or x.dim() < 3:
            return torch.cat([x.flatten(1), condition.flatten(1)], dim=1)
        if condition.dim() == x.dim():  # an image condition of the same size: stack the channels
            return torch.cat([x, condition], dim=1)
        tiled = condition.flatten(1)[(...,) + (None,) * (x.dim() - 2)].expand(-1, -1, *x.shape[2:])
        return torch.cat([x, tiled], dim=1)

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.flatten(1), condition.flatten(1)], dim=1)


def _channels(condition_shape: tuple[int, ...], x_shape: tuple[int, ...]) -> int:
    if len(condition_shape) == len(x_shape):
        if tuple(condition_shape[1:]) != tuple(x_shape[1:]):
            raise condgen.PluginError(
                f"concat with layout: channels needs an image condition of x's size {tuple(x_shape[1:])}, "
                f"got {tuple(condition_shape)}."
            )
        return condition_shape[0]
    return math.prod(condition_shape)


def build(config: ConcatConfig, context: condgen.BuildContext) -> Concat:
    return Concat(config.layout)


class NoCondition(nn.Module):
    def __init__(self, config: NoConditionConfig, context: condgen.BuildContext) -> None:
        super().__init__()

    def encoder_input_shape(self, x_shape, condition_shape):
        return tuple(x_shape)

    def decoder_input_shape(self, latent_dim, condition_shape):
        return (latent_dim,)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return x

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return z
