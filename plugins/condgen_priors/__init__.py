"""Priors p(z | c): ``standard_normal`` ignores the condition (the seed's eq. 3);
``conditional`` is a Gaussian from a network on the condition (the seed's eq. 2)."""

from __future__ import annotations

import torch
from torch import distributions as D
from torch import nn

import condgen

from .conditional import ConditionalPrior, ConditionalPriorConfig


class StandardNormalConfig(condgen.ComponentConfig):
    pass


class StandardNormal(nn.Module):
    def __init__(self, config: StandardNormalConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = context.latent_dim
        self.register_buffer("zero", torch.zeros(()), persistent=False)

    def forward(self, condition: torch.Tensor) -> D.Distribution:
        loc = self.zero.expand(condition.shape[0], self.latent_dim)
        return D.Independent(D.Normal(loc, torch.ones_like(loc), validate_args=False), 1, validate_args=False)


@condgen.hookimpl
def register_components(register):
    register("prior", "standard_normal", StandardNormal, StandardNormalConfig)
    register("prior", "conditional", ConditionalPrior, ConditionalPriorConfig)
