"""One training step's shared quantities, computed once and handed to every loss.

Heads (a classifier, a discriminator, ...) train on what the model produced
in this step: real ``x``, the condition, the posterior and its sample ``z``,
the reconstruction ``x_f = G(z ~ q)`` and a prior sample ``x_p = G(z ~ p)``.
Computing them once and passing the same object around is what lets several
networks with their own optimisers share one forward pass.

A leaf: it names no model, so the protocols, the model and the engine all
import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import distributions as D


@dataclass
class Losses:
    """Per-batch means, in nats per example."""

    loss: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {
            "loss": self.loss.item(),
            "reconstruction": self.reconstruction.item(),
            "kl": self.kl.item(),
        }


#: the ``roles`` of a term that trains both networks (reconstruction-side terms) and of one only the decoder
#: sees (terms on prior samples, which no encoder produced)
ENCODER_AND_DECODER = frozenset({"encoder", "decoder"})
DECODER_ONLY = frozenset({"decoder"})


class ModelLoss(NamedTuple):
    """A term a head adds to the model's losses, and which model networks it trains.

    ``roles`` is a subset of ``{"encoder", "decoder"}``: with separate encoder
    and decoder updates each sums only its own terms; with one ``model``
    update every term counts once.
    """

    name: str
    value: torch.Tensor
    roles: frozenset[str]


@dataclass(frozen=True)
class TrainingStep:
    x: torch.Tensor
    condition: torch.Tensor
    posterior: D.Distribution
    z: torch.Tensor
    losses: Losses
    x_f: torch.Tensor | None = None
    """Decoder mean at the posterior sample z: the reconstruction, in the data's range."""
    z_p: torch.Tensor | None = None
    x_p: torch.Tensor | None = None
    """Decoder mean at a prior sample z_p ~ p(z|c)."""

    def detached(self) -> "TrainingStep":
        """The same step with generated images cut from the graph: for a head's own update,
        which must never move the model."""
        return replace(
            self,
            x_f=None if self.x_f is None else self.x_f.detach(),
            x_p=None if self.x_p is None else self.x_p.detach(),
            z=self.z.detach(),
        )
