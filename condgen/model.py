"""The conditional VAE composed from registered parts.

q(z | x, c), p(z | c) and p(x | z, c) are ``torch.distributions`` objects
returned by the encoder, prior and decoder; the conditioner decides how the
condition is joined with x and z. Nothing here knows which plugins they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributions as D
from torch import nn

from .protocols import BuildContext
from .recipe import ResolvedRecipe


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


def kl_or_estimate(q: D.Distribution, p: D.Distribution, z: torch.Tensor) -> torch.Tensor:
    """KL(q || p) in closed form when torch knows it, else a one-sample estimate at ``z``."""
    try:
        return D.kl_divergence(q, p)
    except NotImplementedError:
        return q.log_prob(z) - p.log_prob(z)


class ConditionalVAE(nn.Module):
    def __init__(self, conditioner: nn.Module, encoder: nn.Module, decoder: nn.Module, prior: nn.Module) -> None:
        super().__init__()
        self.conditioner = conditioner
        self.encoder = encoder
        self.decoder = decoder
        self.prior = prior

    @property
    def latent_dim(self) -> int:
        return self.encoder.latent_dim

    def posterior(self, x: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        return self.encoder(self.conditioner.encoder_input(x, condition))

    def likelihood(self, z: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        return self.decoder(self.conditioner.decoder_input(z, condition))

    def prior_for(self, condition: torch.Tensor) -> D.Distribution:
        return self.prior(condition)

    def losses(self, x: torch.Tensor, condition: torch.Tensor) -> Losses:
        """-ELBO = -E_q log p(x|z,c) + KL(q(z|x,c) || p(z|c)), one reparameterised sample."""
        q = self.posterior(x, condition)
        z = q.rsample()
        reconstruction = -self.likelihood(z, condition).log_prob(x)
        kl = kl_or_estimate(q, self.prior_for(condition), z)
        reconstruction, kl = reconstruction.mean(), kl.mean()
        return Losses(reconstruction + kl, reconstruction, kl)

    @torch.no_grad()
    def sample(self, condition: torch.Tensor, *, mean: bool = True) -> torch.Tensor:
        """Draw z ~ p(z|c) and return the decoder's mean (or a sample) for each condition."""
        z = self.prior_for(condition).sample()
        p_x = self.likelihood(z, condition)
        return p_x.mean if mean else p_x.sample()


@dataclass
class Composed:
    """A built model plus the dataset component it was built against."""

    model: ConditionalVAE
    dataset: object


def build_model(resolved: ResolvedRecipe) -> Composed:
    """Build the dataset description and the model, passing each part the shapes it needs."""
    base = resolved.base_dir
    dataset = resolved.part("data").build(BuildContext(recipe_dir=base))
    x_shape, c_shape = tuple(dataset.x_shape), tuple(dataset.condition_shape)
    conditioner = resolved.part("model", "conditioner").build(
        BuildContext(x_shape=x_shape, condition_shape=c_shape, recipe_dir=base)
    )
    encoder = resolved.part("model", "encoder").build(
        BuildContext(
            x_shape=x_shape,
            condition_shape=c_shape,
            input_shape=tuple(conditioner.encoder_input_shape(x_shape, c_shape)),
            recipe_dir=base,
        )
    )
    latent_dim = int(encoder.latent_dim)
    decoder = resolved.part("model", "decoder").build(
        BuildContext(
            x_shape=x_shape,
            condition_shape=c_shape,
            input_shape=tuple(conditioner.decoder_input_shape(latent_dim, c_shape)),
            output_shape=x_shape,
            latent_dim=latent_dim,
            recipe_dir=base,
        )
    )
    prior = resolved.part("model", "prior").build(
        BuildContext(
            x_shape=x_shape, condition_shape=c_shape, input_shape=c_shape, latent_dim=latent_dim, recipe_dir=base
        )
    )
    return Composed(ConditionalVAE(conditioner, encoder, decoder, prior), dataset)
