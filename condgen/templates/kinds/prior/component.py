"""The ``__NAME__`` prior: p(z | c) = N(mu(c), diag sigma(c)^2), linear in the condition.

It starts as the standard normal (zero-initialised), so training begins from
the seed model and the prior moves each condition's latents where they help.
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
    """The options a recipe may set in ``model.prior``."""

    learn_scale: bool = Field(True, description="learn the standard deviation per condition, not only the mean")


class __CLASS__(nn.Module):
    """condition -> (mu, log variance) of p(z | c)."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = context.latent_dim
        self.learn_scale = config.learn_scale
        self.net = nn.Linear(math.prod(context.condition_shape), 2 * self.latent_dim)
        nn.init.zeros_(self.net.weight)
        nn.init.zeros_(self.net.bias)

    def forward(self, condition: torch.Tensor) -> D.Distribution:
        mu, log_var = self.net(condition.flatten(1)).chunk(2, dim=1)
        if not self.learn_scale:
            log_var = torch.zeros_like(log_var)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var)), 1)


@condgen.hookimpl
def register_components(register):
    register("prior", "__NAME__", __CLASS__, __CLASS__Config)
