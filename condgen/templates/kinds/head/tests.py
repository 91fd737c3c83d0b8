"""The ``__NAME__`` head against condgen's plugin test kit, then its own behaviour."""

import torch

import condgen
from condgen.testing import reference_data
from __MODULE__ import __CLASS__, __CLASS__Config


def test_passes_the_condgen_head_kit(condgen_check):
    report = condgen_check("head", "__NAME__", {"hidden": 8})
    assert "satisfies the head protocol" in report.passed
    assert report.loss_after < report.loss_before


def test_learns_to_predict_the_condition():
    x, condition = reference_data((1, 8, 8), (10,), 100)
    head = __CLASS__(__CLASS__Config(), condgen.BuildContext(x_shape=(1, 8, 8), condition_shape=(10,)))
    assert head(x).shape == condition.shape
    before = head.loss(x, condition).item()
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(100):
        loss = head.loss(x, condition)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert head.loss(x, condition).item() < before / 4
