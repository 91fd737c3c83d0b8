"""The ``conditional`` prior p(z|c): a Gaussian from a network on the condition, closed-form KL, used for sampling."""

from __future__ import annotations

import torch
from torch import distributions as D

from condgen import BuildContext, Prior
from condgen.compose import assemble
from condgen.model import ConditionalVAE, kl_or_estimate
from condgen.testing import REFERENCE_PARTS, check_component
from condgen_priors import ConditionalPriorConfig
from condgen_priors.conditional import ConditionalPrior


def prior(latent_dim: int = 3, condition_shape=(2, 4, 4), hidden=(16,)) -> ConditionalPrior:
    context = BuildContext(latent_dim=latent_dim, condition_shape=condition_shape, input_shape=condition_shape)
    return ConditionalPrior(ConditionalPriorConfig(hidden=list(hidden)), context)


def randomised(module: ConditionalPrior) -> ConditionalPrior:
    torch.manual_seed(0)
    torch.nn.init.normal_(module.out.weight, std=0.3)
    torch.nn.init.normal_(module.out.bias, std=0.3)
    return module


def test_passes_the_plugin_test_kit() -> None:
    report = check_component("prior", "conditional", {"hidden": [32]})
    assert report.loss_after < report.loss_before
    check_component("prior", "conditional", {"hidden": [8, 8]}, condition_shape=(2, 28, 28), steps=10)


def test_starts_as_a_standard_normal_whatever_the_condition() -> None:
    module = prior()
    assert isinstance(module, Prior)
    p = module(torch.randn(5, 2, 4, 4))
    assert p.batch_shape == (5,) and p.event_shape == (3,)
    assert torch.equal(p.mean, torch.zeros(5, 3)) and torch.equal(p.stddev, torch.ones(5, 3))


def test_depends_on_the_condition_once_trained() -> None:
    module = randomised(prior())
    a, b = module(torch.zeros(1, 2, 4, 4)), module(torch.ones(1, 2, 4, 4))
    assert not torch.allclose(a.mean, b.mean) and not torch.allclose(a.stddev, b.stddev)


def test_the_kl_term_is_the_closed_form_and_matches_a_monte_carlo_estimate() -> None:
    p = randomised(prior())(torch.rand(4, 2, 4, 4))
    generator = torch.Generator().manual_seed(1)
    q = D.Independent(D.Normal(torch.randn(4, 3, generator=generator), torch.rand(4, 3, generator=generator) + 0.3), 1)
    z = q.sample()
    exact = kl_or_estimate(q, p, z)  # what ConditionalVAE.losses uses
    mu_q, s_q, mu_p, s_p = q.mean, q.stddev, p.mean, p.stddev
    by_hand = (torch.log(s_p / s_q) + (s_q**2 + (mu_q - mu_p) ** 2) / (2 * s_p**2) - 0.5).sum(1)
    torch.testing.assert_close(exact, by_hand)
    torch.manual_seed(2)
    draws = q.sample((200_000,))
    log_ratio = q.log_prob(draws) - p.log_prob(draws)
    error = 4 * log_ratio.std(0) / 200_000**0.5
    assert ((log_ratio.mean(0) - exact).abs() < error).all()


def test_sampling_draws_z_from_this_prior() -> None:
    parts = dict(REFERENCE_PARTS, prior=lambda context: prior(context.latent_dim, context.condition_shape))
    torch.manual_seed(0)
    model: ConditionalVAE = assemble(lambda role, context: parts[role](context), (1, 4, 4), (2, 4, 4))
    with torch.no_grad():  # p(z|c) = N(3, e^-10): every draw is 3 up to 1e-5
        model.prior.out.bias.copy_(torch.tensor([3.0, 3.0, -20.0, -20.0]))
    condition = torch.rand(6, 2, 4, 4)
    expected = model.likelihood(torch.full((6, 2), 3.0), condition).mean
    torch.testing.assert_close(model.sample(condition), expected, atol=1e-4, rtol=0)
