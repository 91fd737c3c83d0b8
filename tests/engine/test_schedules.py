"""Learning-rate and KL schedules: pure functions of the global step."""

from __future__ import annotations

import math

import pytest
import torch

from condgen.engine.schedules import LearningRates, kl_weight, lr_factor
from condgen.recipe.schema import KlScheduleSection, SchedulerSection


def test_warm_up_rises_linearly_then_the_schedule_starts() -> None:
    schedule = SchedulerSection(name="constant", warmup_steps=4)
    assert [lr_factor(schedule, step, 100) for step in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_cosine_falls_from_one_to_its_floor_at_the_last_step() -> None:
    schedule = SchedulerSection(name="cosine", min_factor=0.1)
    assert lr_factor(schedule, 0, 100) == 1.0
    assert lr_factor(schedule, 50, 100) == pytest.approx(0.55)  # halfway: 0.1 + 0.9 * 0.5
    assert lr_factor(schedule, 100, 100) == pytest.approx(0.1)
    warm = SchedulerSection(name="cosine", warmup_steps=10)
    assert lr_factor(warm, 10, 110) == 1.0 and lr_factor(warm, 60, 110) == pytest.approx(0.5)


def test_step_multiplies_by_gamma_every_step_size_steps() -> None:
    schedule = SchedulerSection(name="step", step_size=10, gamma=0.5)
    assert [lr_factor(schedule, step, 100) for step in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_every_optimiser_follows_the_factor_from_its_own_starting_rate() -> None:
    model = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    head = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    rates = LearningRates(SchedulerSection(name="step", step_size=1, gamma=0.5), {"model": model, "d": head}, 10)
    rates.set(2)
    assert model.param_groups[0]["lr"] == pytest.approx(2.5e-4) and head.param_groups[0]["lr"] == pytest.approx(0.025)
    rates.set(0)  # a pure function of the step: going back gives the starting rates again
    assert model.param_groups[0]["lr"] == 1e-3


def test_kl_warm_up_reaches_the_recipes_weight_and_stays() -> None:
    schedule = KlScheduleSection(warmup_steps=4)
    assert [kl_weight(3.0, schedule, step) for step in range(6)] == [0.75, 1.5, 2.25, 3.0, 3.0, 3.0]
    assert kl_weight(3.0, None, 0) == 3.0
    assert math.isclose(kl_weight(1.0, KlScheduleSection(warmup_steps=0), 0), 1.0)
