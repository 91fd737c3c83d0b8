"""The conditional VAE composed from registered parts.

q(z | x, c), p(z | c) and p(x | z, c) are ``torch.distributions`` objects
returned by the encoder, prior and decoder; the conditioner decides how the
condition is joined with x and z (and, through modulators, how it reaches
inside the networks). Nothing here knows which plugins they are.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import distributions as D
from torch import nn

from .closed_form import diagonal_normal_kl
from .errors import NumericalError, PluginError
from .memory import check_fits
from .protocols import BuildContext, MaskedDataset, Modulation, check_built
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


@dataclass
class Composed:
    """A built model, its heads and the dataset component they were built against.

    Heads stay outside the model: they have their own optimisers, and the
    model's parameters must be exactly the encoder's, decoder's, conditioner's
    and prior's.
    """

    model: ConditionalVAE
    dataset: object
    heads: nn.ModuleDict = field(default_factory=nn.ModuleDict)


def _modulation(conditioner: object, role: str) -> Modulation | None:
    make = getattr(conditioner, "modulator", None)
    return None if make is None else functools.partial(make, role)


Builder = Callable[[str, BuildContext], Any]


def compose(
    build: Builder, x_shape: tuple[int, ...], condition_shape: tuple[int, ...], recipe_dir=None, dataset: Any = None
) -> ConditionalVAE:
    """Build the four model parts in dependency order, each told the shapes it must handle.

    ``build(role, context)`` makes the part for ``role`` (``conditioner``,
    ``encoder``, ``decoder``, ``prior``); recipes and the plugin test kit both
    compose through here, so a part that passes the kit fits a recipe.
    """
    x_shape, c_shape = tuple(x_shape), tuple(condition_shape)
    shapes = dict(x_shape=x_shape, condition_shape=c_shape, recipe_dir=recipe_dir, dataset=dataset)
    conditioner = build("conditioner", BuildContext(**shapes))
    encoder = build(
        "encoder",
        BuildContext(
            **shapes,
            input_shape=tuple(conditioner.encoder_input_shape(x_shape, c_shape)),
            modulation=_modulation(conditioner, "encoder"),
        ),
    )
    latent_dim = int(encoder.latent_dim)
    decoder = build(
        "decoder",
        BuildContext(
            **shapes,
            input_shape=tuple(conditioner.decoder_input_shape(latent_dim, c_shape)),
            output_shape=x_shape,
            latent_dim=latent_dim,
            modulation=_modulation(conditioner, "decoder"),
        ),
    )
    prior_shape = getattr(conditioner, "prior_input_shape", None)
    prior_input = c_shape if prior_shape is None else tuple(prior_shape(c_shape))
    prior = build("prior", BuildContext(**shapes, input_shape=prior_input, latent_dim=latent_dim))
    return ConditionalVAE(conditioner, encoder, decoder, prior)


def build_model(resolved: ResolvedRecipe) -> Composed:
    """Build the recipe's dataset description, then the model for its shapes (once it is known to fit)."""
    dataset = _build_part(resolved, ("data",), BuildContext(recipe_dir=resolved.base_dir))

    def labelled() -> list[tuple[str, nn.Module]]:
        model, heads = _networks(resolved, dataset)
        return [*model.named_children(), *((f"head {name}", head) for name, head in heads.items())]

    check_fits(labelled)
    model, heads = _networks(resolved, dataset)
    model.masking = dataset if isinstance(dataset, MaskedDataset) else None
    return Composed(model, dataset, heads)


def _networks(resolved: ResolvedRecipe, dataset: Any) -> tuple[ConditionalVAE, nn.ModuleDict]:
    base = resolved.base_dir
    model = compose(
        lambda role, context: _build_part(resolved, ("model", role), context),
        dataset.x_shape,
        dataset.condition_shape,
        base,
        dataset,
    )
    model.origins = {role: _origin(resolved.part("model", role)) for role in ("encoder", "decoder", "prior")}
    context = BuildContext(
        x_shape=tuple(dataset.x_shape),
        condition_shape=tuple(dataset.condition_shape),
        latent_dim=model.latent_dim,
        recipe_dir=base,
    )
    heads = nn.ModuleDict(
        {name: _build_part(resolved, ("model", "heads", name), context) for name in resolved.recipe.model.heads}
    )
    return model, heads


def _build_part(resolved: ResolvedRecipe, path: tuple[str, ...], context: BuildContext) -> Any:
    """Build one part and check that it is what its kind must be, naming its plugin if not."""
    part = resolved.part(*path)
    built = part.build(context)
    check_built(part.kind, built, part.component.label)
    return built


def _origin(part: Any) -> str:
    source = part.component.source
    return f"{part.component.name!r} (plugin {source.module}, distribution {source.distribution} {source.version})"
