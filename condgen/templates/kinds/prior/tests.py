"""The ``__NAME__`` prior against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("model", "prior")


def test_passes_the_condgen_prior_kit(condgen_check):
    report = condgen_check("prior", "__NAME__")
    assert report.loss_after < report.loss_before


def test_passes_the_kit_with_a_fixed_scale(condgen_check):
    report = condgen_check("prior", "__NAME__", {"learn_scale": False})
    assert report.loss_after < report.loss_before


def test_starts_standard_normal_and_learns_a_mean_per_condition():
    context = condgen.BuildContext(condition_shape=(10,), latent_dim=2)
    prior = __CLASS__(__CLASS__Config(learn_scale=False), context)
    condition = torch.eye(10)[:4]
    p = prior(condition)
    assert p.batch_shape == (4,) and p.event_shape == (2,)
    assert torch.equal(p.mean, torch.zeros(4, 2)) and torch.equal(p.stddev, torch.ones(4, 2))
    target = torch.arange(8.0).view(4, 2)  # where each condition's latents sit
    optimizer = torch.optim.Adam(prior.parameters(), lr=0.1)
    for _ in range(200):
        loss = -prior(condition).log_prob(target).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.allclose(prior(condition).mean, target, atol=0.3)


# include: recipe_test.py
