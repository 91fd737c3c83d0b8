"""The metric functions behind ``condgen eval``, checked against independent computations."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from condgen.compose import build_model
from condgen.evaluation import (
    _repeat,
    evaluate_elbo,
    feature_statistics,
    frechet_distance,
    frechet_distance_of,
    importance_weighted_nll,
    log_likelihood_per_draw,
    negative_elbo,
)
from condgen.recipe import load_recipe


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


@pytest.mark.parametrize("dim,seed", [(8, 0), (64, 1)])
def test_frechet_distance_agrees_with_scipy_sqrtm(dim, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(600, dim, generator=g)
    b = torch.randn(500, dim, generator=g) @ torch.randn(dim, dim, generator=g) * 0.3 + 0.5
    assert frechet_distance(a, b) == pytest.approx(scipy_fid(a.double().numpy(), b.double().numpy()), abs=1e-3)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    a = torch.randn(400, 16, generator=torch.Generator().manual_seed(2))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 1.0) == pytest.approx(16.0, rel=1e-6)  # ||shift||^2, covariances equal


def test_frechet_distance_from_fitted_statistics_is_the_same_number_to_the_bit():
    # eval caches the test side's (mean, covariance): FID from them must be the FID from the features.
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(300, 12, generator=g), torch.randn(250, 12, generator=g) * 0.5 + 0.2
    assert frechet_distance_of(feature_statistics(a), feature_statistics(b)) == frechet_distance(a, b)


def train_small(recipe, *overrides):
    resolved = load_recipe(recipe, list(overrides))
    composed = build_model(resolved)
    torch.manual_seed(0)
    model, split = composed.model, composed.dataset.load("train")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(60):
        x, c = split.batch(torch.randint(len(split), (20,)))
        loss = model.losses(x, c).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), composed.dataset.load("test")


@pytest.fixture
def small_model(tiny_recipe):
    return train_small(tiny_recipe)


def general_log_likelihood(model, z, x, condition):
    """torch's own path: x and the condition repeated per draw, ``Bernoulli.log_prob`` (-BCE with logits) summed."""
    m, n = z.shape[:2]
    repeated = _repeat(condition, m)
    return model.log_likelihood(model.likelihood(z.flatten(0, 1), repeated), _repeat(x, m), repeated).view(m, n)


@pytest.mark.parametrize("binary", [False, True])
def test_the_bernoulli_log_likelihood_per_draw_is_torchs_log_prob_within_float_rounding(small_model, binary):
    model, test = small_model
    x, condition = test.batch(torch.arange(40))
    x = (x > 0.5).float() if binary else x  # grey levels in [0, 1] (the seed recipe) and binarised data
    z = torch.randn(7, 40, model.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fused, general = log_likelihood_per_draw(model, z, x, condition), general_log_likelihood(model, z, x, condition)
    assert fused.shape == (7, 40)
    # float32 sums of 784 terms of tens of nats, in another order: equal to a few ulps of the total
    torch.testing.assert_close(fused, general, rtol=1e-5, atol=1e-3)


def test_another_likelihood_takes_torchs_path_exactly(tiny_recipe):
    model, test = train_small(tiny_recipe, "model.decoder.likelihood=gaussian")
    x, condition = test.batch(torch.arange(30))
    z = torch.randn(5, 30, model.latent_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(log_likelihood_per_draw(model, z, x, condition), general_log_likelihood(model, z, x, condition))


def reference_nll(model, split, k):
    """The estimate as torch's distributions give it: every decoder row through ``log_prob``, one batch at a time."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(split), 100):
            x, condition = split.batch(torch.arange(start, min(start + 100, len(split))))
            q, prior = model.posterior(x, condition), model.prior_for(condition)
            z = q.sample((k,))
            weights = general_log_likelihood(model, z, x, condition) + prior.log_prob(z) - q.log_prob(z)
            total += (weights.logsumexp(0) - math.log(k)).sum().item()
    return -total / len(split)


def test_the_nll_estimate_is_torchs_to_float_rounding(small_model):
    # The same seed draws the same z (the decoder's slicing does not touch the random numbers), so the two
    # estimates differ only by the rounding of the per-draw sums: far below the 0.01 nats reported.
    model, test = small_model
    torch.manual_seed(5)
    fast = importance_weighted_nll(model, test, 100)
    torch.manual_seed(5)
    assert fast == pytest.approx(reference_nll(model, test, 100), rel=1e-6)


def test_the_particle_elbo_is_torchs_to_float_rounding(small_model):
    model, test = small_model
    torch.manual_seed(6)
    fast = negative_elbo(model, test, 10)
    torch.manual_seed(6)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(test), 100):
            x, condition = test.batch(torch.arange(start, min(start + 100, len(test))))
            q, prior = model.posterior(x, condition), model.prior_for(condition)
            z = q.sample((10,))
            kl = torch.distributions.kl_divergence(q, prior)
            total += (kl - general_log_likelihood(model, z, x, condition)).sum().item() / 10
    assert fast == pytest.approx(total / len(test), rel=1e-6)


def test_importance_weighting_tightens_the_bound(small_model):
    model, test = small_model
    torch.manual_seed(0)
    elbo = evaluate_elbo(model, test, 50)["loss"]
    nll_1 = importance_weighted_nll(model, test, 1)
    nll_100 = importance_weighted_nll(model, test, 100)
    assert nll_1 == pytest.approx(elbo, rel=0.02)  # K = 1 is the ELBO (up to its sampling noise)
    assert nll_100 < elbo
    assert nll_100 > 0 and math.isfinite(nll_100)


def test_nll_estimate_is_the_same_whether_or_not_samples_are_chunked(small_model):
    # Chunks draw the random numbers in other block sizes, so the two estimates differ only by sampling noise.
    model, test = small_model
    torch.manual_seed(3)
    whole = importance_weighted_nll(model, test, 200, batch_size=25)
    torch.manual_seed(3)
    chunked = importance_weighted_nll(model, test, 200, batch_size=25, max_rows=25 * 7)  # 7 samples per chunk
    assert chunked == pytest.approx(whole, rel=5e-3)
