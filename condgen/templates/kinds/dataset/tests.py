"""The ``__NAME__`` dataset against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config, bar_rows

SLOT = ("data",)


def test_passes_the_condgen_dataset_kit(condgen_check):
    report = condgen_check("dataset", "__NAME__", {"train_size": 200, "test_size": 50})
    assert report.loss_after < report.loss_before


def test_is_deterministic_and_each_class_lights_its_own_bar():
    config = __CLASS__Config(train_size=50, image_size=10)
    first = __CLASS__(config).load("train")
    again = __CLASS__(config).load("train")
    assert torch.equal(first.x, again.x) and torch.equal(first.labels, again.labels)
    assert not torch.equal(__CLASS__(config).load("test").x[:10], first.x[:10])
    x, condition = first.batch(torch.arange(50))
    assert x.shape == (50, 1, 10, 10) and condition.shape == (50, 10)
    lit = x[:, 0].mean(dim=2).argmax(dim=1)  # the brightest row of each image
    assert torch.equal(lit, bar_rows(condition.argmax(dim=1), 10))


def test_rejects_labels_out_of_range():
    dataset = __CLASS__(__CLASS__Config())
    assert dataset.conditions_for_labels(torch.tensor([0, 9])).shape == (2, 10)
    try:
        dataset.conditions_for_labels(torch.tensor([10]))
    except condgen.UserError as error:
        assert "0-9" in str(error)
    else:
        raise AssertionError("label 10 was accepted")


# include: recipe_test.py
