"""The ``standard_normal`` prior, imported when a recipe builds it."""

from __future__ import annotations

import torch
from torch import distributions as D
from torch import nn

import condgen

from . import StandardNormalConfig


class StandardNormal(nn.Module):
    def __init__(self, config: StandardNormalConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = context.latent_dim
        self.register_buffer("zero", torch.zeros(()), persistent=False)

    def forward(self, condition: torch.Tensor) -> D.Distribution:
        loc = self.zero.expand(condition.shape[0], self.latent_dim)
        return D.Independent(D.Normal(loc, torch.ones_like(loc), validate_args=False), 1, validate_args=False)
