"""Optimisers from recipe settings: one place, so the model's and every head's match the recipe's names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .recipe.schema import OptimizerSection as OptimizerConfig

if TYPE_CHECKING:
    import torch

__all__ = ["OptimizerConfig", "make_optimizer"]


def make_optimizer(params: Iterable[torch.nn.Parameter], config: OptimizerConfig) -> torch.optim.Optimizer:
    """The recipe's optimiser; with ``fused`` (the default), torch's fused kernel where it has one for these
    parameters' device and dtype, else its multi-tensor (``foreach``) implementation."""
    import torch  # here, so a plugin's config can name OptimizerConfig without importing torch

    params = list(params)
    if config.name == "sgd":
        kind, options = torch.optim.SGD, {"lr": config.lr, "momentum": config.momentum}
    else:
        kind = torch.optim.Adam if config.name == "adam" else torch.optim.AdamW
        options = {"lr": config.lr, "betas": config.betas}
    options["weight_decay"] = config.weight_decay
    if not config.fused:
        return kind(params, foreach=False, **options)
    try:
        return kind(params, fused=True, **options)
    except RuntimeError:  # no fused kernel for this device or dtype
        return kind(params, foreach=True, **options)
