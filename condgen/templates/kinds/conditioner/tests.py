"""The ``__NAME__`` conditioner against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config, __CLASS__Shift

SLOT = ("model", "conditioner")


def test_passes_the_condgen_conditioner_kit(condgen_check):
    report = condgen_check("conditioner", "__NAME__")
    assert report.loss_after < report.loss_before


def test_passes_the_kit_without_modulation(condgen_check):
    report = condgen_check("conditioner", "__NAME__", {"embed_dim": 4, "modulate": False})
    assert report.loss_after < report.loss_before


def test_joins_the_embedding_and_shifts_channels():
    conditioner = __CLASS__(__CLASS__Config(embed_dim=5), condgen.BuildContext(condition_shape=(10,)))
    joined = conditioner.encoder_input(torch.rand(3, 1, 4, 4), torch.eye(10)[:3])
    assert joined.shape == (3, 16 + 5) == (3, *conditioner.encoder_input_shape((1, 4, 4), (10,)))
    shift = conditioner.modulator("encoder", 8)
    h = torch.randn(3, 8, 2, 2)
    assert torch.equal(shift(h, torch.eye(10)[:3]), h)  # the identity at step 0
    with torch.no_grad():
        shift.project.bias.fill_(1.0)
    assert torch.allclose(shift(h, torch.eye(10)[:3]), h + 1)
    assert isinstance(shift, __CLASS__Shift)


# include: recipe_test.py
