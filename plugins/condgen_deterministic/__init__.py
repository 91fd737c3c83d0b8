"""The ``deterministic`` encoder: no latent variable at all (``latent_dim`` 0).

q(z | x, c) and p(z | c) are then distributions over zero numbers, the KL term
is exactly 0 and the decoder sees only the condition: the model becomes a
plain network from c to p(x | c), trained on its likelihood. That is the
deterministic baseline of Pyro's CVAE example (its ``NN``), and it runs
through the same recipes, trainer and ``condgen eval`` as any CVAE, where the
ELBO and the importance-weighted NLL both equal -log p(x | c) exactly.
"""

from __future__ import annotations

import torch
from torch import distributions as D
from torch import nn

import condgen


class DeterministicConfig(condgen.ComponentConfig):
    pass


class Deterministic(nn.Module):
    latent_dim = 0

    def __init__(self, config: DeterministicConfig, context: condgen.BuildContext) -> None:
        super().__init__()

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        empty = joined.new_zeros(joined.shape[0], 0)
        return D.Independent(D.Normal(empty, torch.ones_like(empty), validate_args=False), 1, validate_args=False)


@condgen.hookimpl
def register_components(register):
    register("encoder", "deterministic", Deterministic, DeterministicConfig)
