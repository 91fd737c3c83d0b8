"""The ``deterministic`` encoder, imported when a recipe builds one."""

from __future__ import annotations

import torch
from torch import distributions as D
from torch import nn

import condgen
from . import DeterministicConfig


class Deterministic(nn.Module):
    latent_dim = 0

    def __init__(self, config: DeterministicConfig, context: condgen.BuildContext) -> None:
        super().__init__()

    def forward(self, joined: torch.Tensor, condition: torch.Tensor | None = None) -> D.Distribution:
        empty = joined.new_zeros(joined.shape[0], 0)
        return D.Independent(D.Normal(empty, torch.ones_like(empty), validate_args=False), 1, validate_args=False)
