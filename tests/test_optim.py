"""Optimisers from recipe settings: fused by default, and the same steps as torch's plain loop."""

from __future__ import annotations

import pytest
import torch

from condgen.optim import OptimizerConfig, make_optimizer


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_fused_is_the_default_where_torch_has_a_kernel(name) -> None:
    optimizer = make_optimizer([torch.nn.Parameter(torch.zeros(3))], OptimizerConfig(name=name))
    assert optimizer.defaults["fused"] is True


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_fused_and_plain_optimisers_take_the_same_steps_within_float_rounding(name) -> None:
    torch.manual_seed(0)
    start = [torch.randn(64, 32), torch.randn(32)]
    grads = [[torch.randn_like(p) for p in start] for _ in range(20)]
    settings = {"name": name, "lr": 1e-2, "weight_decay": 1e-3, "momentum": 0.9}
    final = {}
    for fused in (True, False):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        optimizer = make_optimizer(params, OptimizerConfig(**settings, fused=fused))
        assert optimizer.defaults["foreach"] is (None if fused else False)
        for step in grads:
            for param, grad in zip(params, step):
                param.grad = grad.clone()
            optimizer.step()
        final[fused] = params
    for a, b in zip(final[True], final[False]):
        assert not torch.equal(a, start[0] if a.dim() == 2 else start[1])  # they moved
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
