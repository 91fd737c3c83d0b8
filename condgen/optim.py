"""Optimisers from recipe settings: one place, so the model's and every head's match the recipe's names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .recipe.schema import OptimizerSection as OptimizerConfig

if TYPE_CHECKING:
    import torch

__all__ = ["OptimizerConfig", "make_optimizer"]


def make_optimizer(params: Iterable[torch.nn.Parameter], config: OptimizerConfig) -> torch.optim.Optimizer:
    import torch  # here, so a plugin's config can name OptimizerConfig without importing torch

    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
