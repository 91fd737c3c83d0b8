"""The composed conditional VAE: shapes, the -ELBO and its KL term."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import distributions as D

from condgen.compose import build_model
from condgen.model import ConditionalVAE, kl_or_estimate
from condgen.recipe import load_recipe


@pytest.fixture
def composed(tiny_recipe):
    torch.manual_seed(0)
    return build_model(load_recipe(tiny_recipe))


def batch(n: int = 6):
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(n, 1, 28, 28, generator=g) > 0.5).float()
    c = F.one_hot(torch.arange(n) % 10, 10).float()
    return x, c


def test_build_model_wires_shapes_from_the_dataset(composed) -> None:
    model = composed.model
    assert isinstance(model, ConditionalVAE)
    assert tuple(composed.dataset.x_shape) == (1, 28, 28)
    assert model.latent_dim == 2
    x, c = batch()
    q = model.posterior(x, c)
    assert q.batch_shape == (6,) and q.event_shape == (2,)
    p_x = model.likelihood(q.rsample(), c)
    assert p_x.batch_shape == (6,) and p_x.event_shape == (1, 28, 28)
    prior = model.prior_for(c)
    assert prior.batch_shape == (6,) and prior.event_shape == (2,)


def test_negative_elbo_is_reconstruction_plus_closed_form_kl(composed) -> None:
    model = composed.model
    x, c = batch()
    torch.manual_seed(11)
    losses = model.losses(x, c)
    torch.testing.assert_close(losses.loss, losses.reconstruction + losses.kl)

    # KL(N(mu, sigma^2) || N(0, 1)) summed over latent dims, by hand.
    q = model.posterior(x, c)
    mu, sigma = q.base_dist.loc, q.base_dist.scale
    kl = 0.5 * (mu**2 + sigma**2 - 1 - 2 * torch.log(sigma)).sum(1)
    torch.testing.assert_close(losses.kl, kl.mean())

    # Reconstruction: Bernoulli negative log-likelihood of x at the same z draw.
    torch.manual_seed(11)
    z = model.posterior(x, c).rsample()
    logits = model.likelihood(z, c).base_dist.logits
    nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(losses.reconstruction, nll.mean())


def test_losses_are_per_example_means_and_differentiable(composed) -> None:
    x, c = batch(4)
    losses = composed.model.losses(x, c)
    assert losses.loss.shape == ()
    losses.loss.backward()
    grads = [p.grad for p in composed.model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    values = losses.as_floats()
    assert set(values) == {"loss", "reconstruction", "kl"}
    # An untrained Bernoulli decoder scores 784 pixels at roughly log 2 each.
    assert 0.3 * 784 * math.log(2) < values["reconstruction"] < 3 * 784 * math.log(2)


def test_kl_falls_back_to_a_one_sample_estimate_without_a_closed_form() -> None:
    q = D.Independent(D.Normal(torch.tensor([[0.5, -1.0]]), torch.tensor([[0.3, 2.0]])), 1)
    mixture = D.MixtureSameFamily(
        D.Categorical(torch.tensor([[0.3, 0.7]])),
        D.Independent(D.Normal(torch.tensor([[[1.0, 1.0], [-1.0, 0.0]]]), torch.ones(1, 2, 2)), 1),
    )
    z = torch.tensor([[0.2, 0.1]])
    torch.testing.assert_close(kl_or_estimate(q, mixture, z), q.log_prob(z) - mixture.log_prob(z))
    # With a closed form the sample is ignored.
    standard = D.Independent(D.Normal(torch.zeros(1, 2), torch.ones(1, 2)), 1)
    torch.testing.assert_close(kl_or_estimate(q, standard, z), D.kl_divergence(q, standard))


def test_sample_returns_decoder_means_in_unit_range(composed) -> None:
    c = F.one_hot(torch.tensor([7, 7, 3]), 10).float()
    torch.manual_seed(0)
    images = composed.model.sample(c)
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    torch.manual_seed(0)
    assert torch.equal(images, composed.model.sample(c))
    drawn = composed.model.sample(c, mean=False)
    assert set(drawn.unique().tolist()) <= {0.0, 1.0}  # a Bernoulli sample, not a mean
