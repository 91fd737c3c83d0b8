"""The metric functions behind ``condgen eval``, checked against independent computations."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from condgen.compose import build_model
from condgen.evaluation import evaluate_elbo, frechet_distance, importance_weighted_nll
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


@pytest.fixture
def small_model(tiny_recipe):
    resolved = load_recipe(tiny_recipe)
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
