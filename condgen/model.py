"""The conditional VAE composed from registered parts.

q(z | x, c), p(z | c) and p(x | z, c) are ``torch.distributions`` objects
returned by the encoder, prior and decoder; the conditioner decides how the
condition is joined with x and z (and, through modulators, how it reaches
inside the networks). Nothing here knows which plugins they are, nor how
they were built (that is ``condgen.compose``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import distributions as D
from torch import nn

from .closed_form import diagonal_normal_kl
from .errors import NumericalError, PluginError
from .protocols import MaskedDataset
from .training_step import Losses, TrainingStep


class InvalidParameters(NumericalError):
    """A part built a distribution from parameters torch's argument checks reject (NaN, infinite, out of range)."""


def kl_or_estimate(q: D.Distribution, p: D.Distribution, z: torch.Tensor) -> torch.Tensor:
    """KL(q || p) in closed form when torch knows it, else a one-sample estimate at ``z``."""
    closed = diagonal_normal_kl(q, p)  # the common pair, traced by torch.compile in one graph
    if closed is not None:
        return closed
    try:
        return D.kl_divergence(q, p)
    except NotImplementedError:
        return q.log_prob(z) - p.log_prob(z)


def masked_log_prob(dist: D.Distribution, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log p(x) summed over the entries where ``mask`` is true; needs a product over x's entries (``Independent``)."""
    base = dist
    while isinstance(base, D.Independent):
        base = base.base_dist
    elementwise = base.log_prob(x) if base is not dist else None
    if elementwise is None or tuple(elementwise.shape) != tuple(x.shape):
        raise PluginError(
            f"The decoder's p(x|z,c) ({type(dist).__name__}) is not a product of distributions over x's entries, "
            "so the dataset's likelihood mask cannot be applied to it.",
            hint="Return a torch.distributions.Independent over per-entry distributions, "
            "or turn the dataset's likelihood mask off.",
        )
    return (elementwise * mask.to(elementwise.dtype)).flatten(1).sum(1)


class ConditionalVAE(nn.Module):
    def __init__(self, conditioner: nn.Module, encoder: nn.Module, decoder: nn.Module, prior: nn.Module) -> None:
        super().__init__()
        self.conditioner = conditioner
        self.encoder = encoder
        self.decoder = decoder
        self.prior = prior
        #: role -> which plugin provides it, for errors about what a part returned
        self.origins: dict[str, str] = {}
        #: a dataset whose condition reveals part of x: the likelihood scores its
        #: likelihood_mask only, and what the model generates keeps the revealed part
        self.masking: MaskedDataset | None = None

    @property
    def latent_dim(self) -> int:
        return self.encoder.latent_dim

    def posterior(self, x: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        return self._call("encoder", self.conditioner.encoder_input(x, condition), condition)

    def likelihood(self, z: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        return self._call("decoder", self.conditioner.decoder_input(z, condition), condition)

    def prior_for(self, condition: torch.Tensor) -> D.Distribution:
        join = getattr(self.conditioner, "prior_input", None)
        return self._call("prior", condition if join is None else join(condition))

    def log_likelihood(self, p_x: D.Distribution, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """log p(x|z,c) per example, over the entries the dataset's likelihood mask selects (all without one)."""
        mask = None if self.masking is None else self.masking.likelihood_mask(condition)
        return p_x.log_prob(x) if mask is None else masked_log_prob(p_x, x, mask)

    def _call(self, role: str, *args: torch.Tensor) -> D.Distribution:
        try:
            return getattr(self, role)(*args)
        except ValueError as error:  # torch.distributions' argument validation, on by default
            if "found invalid values" not in str(error):
                raise
            check = str(error).split(", but found")[0]
            raise InvalidParameters(
                f"The {role} {self._origin(role)} returned a distribution with NaN, infinite or out-of-range "
                f"parameters ({check})"
            ) from None

    def _origin(self, role: str) -> str:
        return self.origins.get(role, type(getattr(self, role)).__name__)

    def losses(self, x: torch.Tensor, condition: torch.Tensor) -> Losses:
        """-ELBO = -E_q log p(x|z,c) + KL(q(z|x,c) || p(z|c)), one reparameterised sample."""
        return self.elbo_parts(x, condition)[0]

    def elbo_parts(
        self, x: torch.Tensor, condition: torch.Tensor
    ) -> tuple[Losses, D.Distribution, torch.Tensor, D.Distribution]:
        """The -ELBO terms with what produced them: q(z|x,c), its sample z, and p(x|z,c)."""
        n, latent = len(x), (self.latent_dim,)
        q = self.expect("encoder", "q(z|x,c)", self.posterior(x, condition), n, latent)
        z = q.rsample()
        p_x = self.expect("decoder", "p(x|z,c)", self.likelihood(z, condition), n, tuple(x.shape[1:]))
        reconstruction = -self.log_likelihood(p_x, x, condition)
        kl = kl_or_estimate(q, self.expect("prior", "p(z|c)", self.prior_for(condition), n, latent), z)
        reconstruction, kl = reconstruction.mean(), kl.mean()
        return Losses(reconstruction + kl, reconstruction, kl), q, z, p_x

    def expect(self, role: str, what: str, dist: Any, batch: int, event: tuple[int, ...] | None) -> D.Distribution:
        """``dist`` if it is a distribution of ``batch`` examples with this event shape, else a PluginError naming the plugin."""
        if isinstance(dist, D.Distribution) and tuple(dist.batch_shape) == (batch,):
            if event is None or tuple(dist.event_shape) == event:
                return dist
        if isinstance(dist, D.Distribution):
            got = f"batch shape {tuple(dist.batch_shape)} and event shape {tuple(dist.event_shape)}"
        else:
            got = f"a {type(dist).__name__}, not a torch.distributions.Distribution"
        wanted = f"batch shape ({batch},)" + ("" if event is None else f" and event shape {event}")
        raise PluginError(
            f"The {role} {self._origin(role)} returned {what} with {got}; "
            f"expected {wanted}.",
            hint=f"The {role} plugin breaks the {role} protocol (see condgen.protocols); "
            "check it with condgen.testing.check_component.",
        )

    @torch.no_grad()
    def sample(self, condition: torch.Tensor, *, mean: bool = True) -> torch.Tensor:
        """Draw z ~ p(z|c) and return the decoder's mean (or a sample) for each condition.

        Entries the condition reveals (a :class:`MaskedDataset`) are pasted back.
        """
        n = len(condition)
        z = self.expect("prior", "p(z|c)", self.prior_for(condition), n, (self.latent_dim,)).sample()
        p_x = self.expect("decoder", "p(x|z,c)", self.likelihood(z, condition), n, None)
        x = p_x.mean if mean else p_x.sample()
        return x if self.masking is None else self.masking.paste(x, condition)


def forward_step(model: ConditionalVAE, x: torch.Tensor, condition: torch.Tensor, *, generate: bool) -> TrainingStep:
    """The model's -ELBO terms, plus the generated images heads need when ``generate``."""
    losses, q, z, likelihood = model.elbo_parts(x, condition)
    if not generate:
        return TrainingStep(x, condition, q, z, losses)
    z_p = model.prior_for(condition).rsample()
    return TrainingStep(x, condition, q, z, losses, likelihood.mean, z_p, model.likelihood(z_p, condition).mean)
