"""The observation models decoders end in: Gaussian (fixed, learned) and the discretised logistic mixture."""

from __future__ import annotations

import math

import pydantic
import pytest
import torch
from torch import distributions as D

import condgen
from condgen.likelihood_options import LikelihoodOptions, values_per_entry
from condgen.likelihoods import DiscretisedLogisticMixture, likelihood

GRID = torch.arange(256) / 255


def test_each_likelihood_asks_for_its_number_of_values_per_entry() -> None:
    assert values_per_entry(LikelihoodOptions()) == 1  # bernoulli logits
    assert values_per_entry(LikelihoodOptions(likelihood="gaussian", sigma=0.1)) == 1  # the mean
    assert values_per_entry(LikelihoodOptions(likelihood="gaussian")) == 2  # mean and scale
    assert values_per_entry(LikelihoodOptions(likelihood="logistic_mixture", mixtures=4)) == 12  # logit, mean, scale


def test_options_are_bounded() -> None:
    for bad in ({"sigma": 0}, {"mixtures": 0}, {"mixtures": 33}, {"likelihood": "poisson"}):
        with pytest.raises(pydantic.ValidationError):
            LikelihoodOptions(**bad)


def test_the_discretised_logistic_mixture_is_a_probability_mass_over_the_256_values() -> None:
    g = torch.Generator().manual_seed(0)
    k = 3
    params = torch.randn(2, 3 * k, generator=g)  # two entries, three components each
    dist = likelihood(LikelihoodOptions(likelihood="logistic_mixture", mixtures=k), params.view(2, 3 * k, 1))
    base = dist.base_dist
    assert isinstance(base, DiscretisedLogisticMixture)
    # Every one of the 256 values of each entry, scored: the masses sum to one.
    log_p = base.log_prob(GRID.view(256, 1, 1).expand(256, 2, 1))
    assert torch.allclose(log_p.exp().sum(0), torch.ones(2, 1), atol=1e-4)


def test_a_sharp_logistic_puts_its_mass_on_the_value_at_its_mean() -> None:
    value = 100 / 255
    raw = torch.tensor([0.0, 2 * value - 1, -8.0]).view(1, 3, 1)  # one component: logit, mean on [-1, 1], log scale
    base = likelihood(LikelihoodOptions(likelihood="logistic_mixture", mixtures=1), raw).base_dist
    # The scale is clamped to exp(-7) ~ 0.0009; the bin is +-1/255 ~ 0.0039 wide: ~4.3 scales each side, ~97%.
    assert base.log_prob(torch.tensor([[value]])).exp().item() > 0.95
    assert base.mean.item() == pytest.approx(value, abs=1e-6)
    torch.manual_seed(0)
    assert ((base.sample((200,)) - value).abs() < 1e-6).float().mean() > 0.9


def test_samples_of_the_mixture_lie_on_the_8_bit_grid() -> None:
    raw = torch.randn(4, 15, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    dist = likelihood(LikelihoodOptions(likelihood="logistic_mixture", mixtures=5), raw.view(4, 15, 1, 8, 8))
    x = dist.sample()
    assert x.shape == (4, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
    assert torch.allclose(x * 255, (x * 255).round(), atol=1e-4)
    assert dist.log_prob(x).shape == (4,)


def test_a_fixed_gaussian_has_the_given_sigma_and_a_learned_one_stays_above_the_floor() -> None:
    raw = torch.zeros(2, 2, 1, 4, 4)
    fixed = likelihood(LikelihoodOptions(likelihood="gaussian", sigma=0.5), raw[:, :1])
    assert torch.all(fixed.base_dist.scale == 0.5)
    x = torch.full((2, 1, 4, 4), 0.25)
    expected = 16 * (-0.5 * (0.25 / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi))
    assert fixed.log_prob(x) == pytest.approx(torch.full((2,), expected))
    learned = likelihood(LikelihoodOptions(likelihood="gaussian"), torch.cat([raw[:, :1], torch.full_like(raw[:, :1], -50)], 1))
    assert learned.base_dist.scale.min() >= condgen.likelihoods.MIN_SIGMA


def test_every_likelihood_is_independent_over_the_entries_so_masks_apply() -> None:
    for options in (
        LikelihoodOptions(),
        LikelihoodOptions(likelihood="gaussian"),
        LikelihoodOptions(likelihood="logistic_mixture", mixtures=2),
    ):
        raw = torch.randn(3, values_per_entry(options), 3, 4, 4)
        dist = likelihood(options, raw)
        assert isinstance(dist, D.Independent) and dist.event_shape == (3, 4, 4) and dist.batch_shape == (3,)
        assert dist.base_dist.log_prob(torch.rand(3, 3, 4, 4).mul(255).round().div(255)).shape == (3, 3, 4, 4)
