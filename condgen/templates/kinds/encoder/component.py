"""The ``__NAME__`` encoder: q(z | x, c) as a diagonal Gaussian from a one-hidden-layer MLP.

The hidden layer is handed to the conditioner's modulator when it offers one
(FiLM and the like), so this encoder works with every conditioner.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import distributions as D
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``model.encoder``."""

    hidden: condgen.Width = Field(64, description="units of the hidden layer")
    latent_dim: condgen.Width = Field(2, description="size of z")


class __CLASS__(nn.Module):
    """joined (x, c) -> hidden -> (mu, log variance) of q(z | x, c)."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.hidden = nn.Linear(math.prod(context.input_shape), config.hidden)
        self.modulator = context.modulator(config.hidden)  # None unless the conditioner modulates
        self.out = nn.Linear(config.hidden, 2 * config.latent_dim)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        h = self.hidden(joined.flatten(1))
        if self.modulator is not None:
            h = self.modulator(h, condition)
        mu, log_var = self.out(torch.relu(h)).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var)), 1)


@condgen.hookimpl
def register_components(register):
    register("encoder", "__NAME__", __CLASS__, __CLASS__Config)
