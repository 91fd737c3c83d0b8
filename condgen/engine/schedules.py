"""Schedules of the training step: the learning rate of every optimiser and the KL weight, per global step.

Each is a pure function of the global step (and the run's length), so a
resumed run, which restores the step, continues on exactly the same curve with
nothing else to checkpoint. The learning rate is a factor applied to each
parameter group's own starting rate (``initial_lr``), so the model's and each
head's optimiser follow one shape from their own rates.
"""

from __future__ import annotations

import math

import torch

from ..recipe.schema import KlScheduleSection, SchedulerSection


def lr_factor(schedule: SchedulerSection, step: int, total_steps: int) -> float:
    """The factor on the starting learning rate for the update at global step ``step`` (from 0)."""
    warmup = schedule.warmup_steps
    if step < warmup:
        return (step + 1) / warmup
    step -= warmup
    if schedule.name == "cosine":
        span = max(total_steps - warmup, 1)
        progress = min(step / span, 1.0)
        return schedule.min_factor + (1 - schedule.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule.name == "step":
        return schedule.gamma ** (step // schedule.step_size)
    return 1.0


class LearningRates:
    """Sets every optimiser's learning rates for the coming step."""

    def __init__(self, schedule: SchedulerSection, optimizers: dict[str, torch.optim.Optimizer], total_steps: int):
        self.schedule, self.total_steps = schedule, total_steps
        # Looked up at every step: loading an optimiser's checkpoint replaces its param_groups (their
        # initial_lr with them, so a resumed run keeps its starting rates).
        self.optimizers = list(optimizers.values())
        for group in self._groups():
            group.setdefault("initial_lr", group["lr"])

    def _groups(self) -> list[dict]:
        return [group for optimizer in self.optimizers for group in optimizer.param_groups]

    def set(self, step: int) -> float:
        factor = lr_factor(self.schedule, step, self.total_steps)
        for group in self._groups():
            group["lr"] = group["initial_lr"] * factor
        return factor


def kl_weight(base: float, schedule: KlScheduleSection | None, step: int) -> float:
    """The KL term's weight at global step ``step``: rises linearly to ``base`` over the warm-up (KL annealing)."""
    if schedule is None or step >= schedule.warmup_steps:
        return base
    return base * (step + 1) / schedule.warmup_steps
