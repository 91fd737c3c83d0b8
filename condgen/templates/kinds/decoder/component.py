"""The ``__NAME__`` decoder: p(x | z, c) as independent Bernoullis from a one-hidden-layer MLP.

The hidden layer is handed to the conditioner's modulator when it offers one
(FiLM and the like), so this decoder works with every conditioner.
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
    """The options a recipe may set in ``model.decoder``."""

    hidden: condgen.Width = Field(64, description="units of the hidden layer")


class __CLASS__(nn.Module):
    """joined (z, c) -> hidden -> one Bernoulli logit per value of x."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.hidden = nn.Linear(math.prod(context.input_shape), config.hidden)
        self.modulator = context.modulator(config.hidden)  # None unless the conditioner modulates
        self.out = nn.Linear(config.hidden, math.prod(self.output_shape))

    def forward(self, joined: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        h = self.hidden(joined.flatten(1))
        if self.modulator is not None:
            h = self.modulator(h, condition)
        logits = self.out(torch.relu(h)).view(-1, *self.output_shape)
        # validate_args=False: grey values in [0, 1] are fine for this likelihood.
        return D.Independent(D.Bernoulli(logits=logits, validate_args=False), len(self.output_shape))


@condgen.hookimpl
def register_components(register):
    register("decoder", "__NAME__", __CLASS__, __CLASS__Config)
