"""The ``__NAME__`` head: an auxiliary network that predicts the condition from x.

A head owns its network, its optimiser and its losses. Each training step it
learns from real images (``head_losses``), and it asks the generator to make
reconstructions and prior samples whose condition it can recover
(``model_losses``): a simple conditional-consistency term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options of this head."""

    hidden: condgen.Width = Field(32, description="units of the hidden layer")
    weight: float = Field(1.0, ge=0, le=1e6, description="weight of the consistency term in the decoder's loss")
    optimizer: condgen.OptimizerConfig = Field(default_factory=condgen.OptimizerConfig)


class __CLASS__(nn.Module):
    """x -> hidden -> a prediction of the condition, trained with squared error."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self.condition_shape = tuple(context.condition_shape)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(context.x_shape), config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, math.prod(self.condition_shape)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, *self.condition_shape)

    def loss(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(x), condition)

    def optimizer(self) -> torch.optim.Optimizer:
        return condgen.make_optimizer(self.parameters(), self.config.optimizer)

    def head_losses(self, step: condgen.TrainingStep) -> dict[str, torch.Tensor]:
        return {"loss": self.loss(step.x, step.condition)}

    def model_losses(self, step: condgen.TrainingStep) -> list[condgen.ModelLoss]:
        term = self.config.weight * self.loss(step.x_p, step.condition)
        return [condgen.ModelLoss("__NAME___consistency", term, condgen.DECODER_ONLY)]


@condgen.hookimpl
def register_components(register):
    register("head", "__NAME__", __CLASS__, __CLASS__Config)
