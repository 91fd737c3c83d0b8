"""The ``__NAME__`` encoder against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch
from torch import nn

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("model", "encoder")


def test_passes_the_condgen_encoder_kit(condgen_check):
    report = condgen_check("encoder", "__NAME__", {"hidden": 32, "latent_dim": 3})
    assert report.loss_after < report.loss_before


# include: shift_modulator.py


def test_gives_a_diagonal_gaussian_and_lets_the_condition_in_through_the_modulator():
    asked = []

    def modulation(features):
        asked.append(features)
        return Shift(10, features)

    context = condgen.BuildContext(input_shape=(1, 8, 8), condition_shape=(10,), modulation=modulation)
    encoder = __CLASS__(__CLASS__Config(hidden=16, latent_dim=3), context)
    x = torch.rand(1, 1, 8, 8).expand(2, 1, 8, 8)
    q = encoder(x, torch.eye(10)[:2])
    assert q.batch_shape == (2,) and q.event_shape == (3,)
    assert asked == [16]
    assert not torch.allclose(q.mean[0], q.mean[1])  # same x, different condition


# include: recipe_test.py
