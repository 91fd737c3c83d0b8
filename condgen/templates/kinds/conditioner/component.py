"""The ``__NAME__`` conditioner: a learned embedding of the condition, appended to x and z.

With ``modulate`` on, it also hands each network a modulator per hidden layer
that adds a learned function of the condition (``h -> h + W c``), starting as
the identity; networks that ask their ``BuildContext`` for modulators apply it.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config", "__CLASS__Shift"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``model.conditioner``."""

    embed_dim: condgen.Width = Field(16, description="size of the condition embedding appended to x and to z")
    modulate: bool = Field(True, description="also shift every hidden layer by a learned function of the condition")


class __CLASS__Shift(nn.Module):
    """``h + W c`` for one hidden layer; acts on dimension 1, so units and channels alike."""

    def __init__(self, condition_dim: int, features: int) -> None:
        super().__init__()
        self.project = nn.Linear(condition_dim, features)
        nn.init.zeros_(self.project.weight)  # the identity at step 0: training starts from the plain network
        nn.init.zeros_(self.project.bias)

    def forward(self, h: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        shift = self.project(condition.flatten(1))
        return h + shift.view(shift.shape + (1,) * (h.dim() - 2))


class __CLASS__(nn.Module):
    """Appends tanh(E c) to the flattened x (encoder) and z (decoder)."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self.condition_dim = math.prod(context.condition_shape)
        self.embed = nn.Linear(self.condition_dim, config.embed_dim)

    def encoder_input_shape(self, x_shape: tuple[int, ...], condition_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(x_shape) + self.config.embed_dim,)

    def decoder_input_shape(self, latent_dim: int, condition_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (latent_dim + self.config.embed_dim,)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), self._embedded(condition)], dim=1)

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.flatten(1), self._embedded(condition)], dim=1)

    def modulator(self, role: str, features: int) -> nn.Module | None:
        """Called by condgen for each hidden layer of the encoder and decoder (``role``)."""
        return __CLASS__Shift(self.condition_dim, features) if self.config.modulate else None

    def _embedded(self, condition: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.embed(condition.flatten(1)))


@condgen.hookimpl
def register_components(register):
    register("conditioner", "__NAME__", __CLASS__, __CLASS__Config)
