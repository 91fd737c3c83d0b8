"""The ``__NAME__`` decoder against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch
from torch import nn

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("model", "decoder")


def test_passes_the_condgen_decoder_kit(condgen_check):
    report = condgen_check("decoder", "__NAME__", {"hidden": 32})
    assert report.loss_after < report.loss_before


def test_passes_the_kit_on_other_shapes(condgen_check):
    report = condgen_check("decoder", "__NAME__", x_shape=(3, 5, 5), condition_shape=(4,))
    assert report.loss_after < report.loss_before


# include: shift_modulator.py


def test_describes_x_and_lets_the_condition_in_through_the_modulator():
    context = condgen.BuildContext(
        input_shape=(12,), output_shape=(1, 6, 6), condition_shape=(10,), modulation=lambda f: Shift(10, f)
    )
    decoder = __CLASS__(__CLASS__Config(hidden=16), context)
    joined = torch.randn(1, 12).expand(2, 12)
    p = decoder(joined, torch.eye(10)[:2])
    assert p.batch_shape == (2,) and p.event_shape == (1, 6, 6)
    assert p.log_prob(torch.rand(2, 1, 6, 6)).shape == (2,)
    assert not torch.allclose(p.mean[0], p.mean[1])  # same input, different condition


# include: recipe_test.py
