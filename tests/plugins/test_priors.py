"""The built-in ``standard_normal`` prior: N(0, I), whatever the condition."""

from __future__ import annotations

import torch
from torch import distributions as D

from condgen import BuildContext
from condgen_priors import StandardNormalConfig
from condgen_priors.standard import StandardNormal


def prior(latent_dim: int = 3) -> StandardNormal:
    return StandardNormal(StandardNormalConfig(), BuildContext(latent_dim=latent_dim, condition_shape=(10,)))


def test_is_a_standard_normal_over_the_latents_for_each_example() -> None:
    p = prior(3)(torch.rand(5, 10))
    assert p.batch_shape == (5,) and p.event_shape == (3,)
    assert torch.equal(p.mean, torch.zeros(5, 3))
    assert torch.equal(p.stddev, torch.ones(5, 3))
    expected = D.Independent(D.Normal(torch.zeros(5, 3), torch.ones(5, 3)), 1)
    z = torch.randn(5, 3)
    torch.testing.assert_close(p.log_prob(z), expected.log_prob(z))


def test_ignores_the_condition() -> None:
    module = prior(2)
    a, b = module(torch.zeros(4, 10)), module(torch.rand(4, 10) * 100)
    z = torch.randn(4, 2)
    assert torch.equal(a.log_prob(z), b.log_prob(z))


def test_has_no_trainable_or_saved_state() -> None:
    module = prior()
    assert list(module.parameters()) == []
    assert module.state_dict() == {}


def test_kl_to_a_gaussian_posterior_has_a_closed_form() -> None:
    q = D.Independent(D.Normal(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 2.0]])), 1)
    kl = D.kl_divergence(q, prior(2)(torch.zeros(1, 10)))
    expected = 0.5 * (1.0 + 0.0) + 0.5 * (4.0 - 1.0 - torch.log(torch.tensor(4.0)))
    torch.testing.assert_close(kl, expected.reshape(1))
