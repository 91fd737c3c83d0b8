"""The ``conditional`` prior: p(z | c) = N(mu(c), diag sigma(c)^2) from a network on the condition.

The seed's eq. 2 and Pyro's prior net: when the condition already says much
about x (inpainting), a prior that depends on it lets z carry only what the
condition leaves open. KL(q || p) between the two diagonal Gaussians is then
closed-form (torch's registered Normal/Normal KL), and sampling at inference
draws z from this prior.
"""

from __future__ import annotations

import math

import torch
from torch import distributions as D
from torch import nn

import condgen

from . import ConditionalPriorConfig

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}


class ConditionalPrior(nn.Module):
    """A fully connected network from the flattened condition to the mean and log-variance of z."""

    def __init__(self, config: ConditionalPriorConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = int(context.latent_dim)
        # input_shape: the condition, or what the conditioner hands the prior instead (a text's embedding)
        sizes = [math.prod(context.input_shape or context.condition_shape), *config.hidden]
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), _ACTIVATIONS[config.activation]()]
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(sizes[-1], 2 * self.latent_dim)
        # Start as N(0, I), the standard prior, and move from there.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, condition: torch.Tensor) -> D.Distribution:
        mu, log_var = self.out(self.hidden(condition.flatten(1))).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)
