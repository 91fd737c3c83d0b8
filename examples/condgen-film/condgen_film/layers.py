"""The FiLM conditioner and its layers, imported when a recipe builds one."""

from __future__ import annotations

import math

import torch
from torch import nn

import condgen
from . import FiLMConfig


__all__ = ["FiLM", "FiLMConfig", "FiLMLayer"]


class FiLMLayer(nn.Module):
    """gamma and beta for one hidden layer; starts as the identity so training starts from the plain network."""

    def __init__(self, condition_dim: int, features: int, hidden: int | None) -> None:
        super().__init__()
        out = nn.Linear(hidden or condition_dim, 2 * features)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        self.project = out if hidden is None else nn.Sequential(nn.Linear(condition_dim, hidden), nn.ReLU(), out)

    def forward(self, h: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.project(condition.flatten(1)).chunk(2, dim=1)
        broadcast = (h.shape[0], h.shape[1]) + (1,) * (h.dim() - 2)
        return h * (1 + gamma.view(broadcast)) + beta.view(broadcast)


class FiLM(nn.Module):
    """The conditioner: passes x and z through (optionally with c appended) and hands out FiLM layers."""

    def __init__(self, config: FiLMConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self.condition_dim = math.prod(context.condition_shape)

    def encoder_input_shape(self, x_shape, condition_shape):
        if self.config.concat_input:
            return (math.prod(x_shape) + math.prod(condition_shape),)
        return tuple(x_shape)

    def decoder_input_shape(self, latent_dim, condition_shape):
        return (latent_dim + (math.prod(condition_shape) if self.config.concat_input else 0),)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), condition.flatten(1)], dim=1) if self.config.concat_input else x

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, condition.flatten(1)], dim=1) if self.config.concat_input else z

    def modulator(self, role: str, features: int) -> FiLMLayer:
        return FiLMLayer(self.condition_dim, features, self.config.hidden)
