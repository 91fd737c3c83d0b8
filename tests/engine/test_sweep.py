"""Sweeps: the cross product of override values, and which earlier run folder is a point's run."""

from __future__ import annotations

import pytest

from condgen.engine.session import start_run
from condgen.engine.progress import SilentReporter
from condgen.engine.sweep import expand, plan, previous_run, split_choices
from condgen.errors import RecipeError


def test_commas_inside_brackets_braces_or_quotes_do_not_split_a_value() -> None:
    assert split_choices("0,1,2") == ["0", "1", "2"]
    assert split_choices("[8,8],[16]") == ["[8,8]", "[16]"]
    assert split_choices("{name: adam, lr: 1},{name: sgd}") == ["{name: adam, lr: 1}", "{name: sgd}"]
    assert split_choices("'a,b',c") == ["'a,b'", "c"]


def test_the_cross_product_varies_the_last_key_fastest_and_keeps_single_values_fixed() -> None:
    fixed, points = expand(["seed=0,1", "trainer.epochs=1", "model.encoder.latent_dim=2,8"])
    assert fixed == ["trainer.epochs=1"]
    assert points == [
        ["seed=0", "model.encoder.latent_dim=2"],
        ["seed=0", "model.encoder.latent_dim=8"],
        ["seed=1", "model.encoder.latent_dim=2"],
        ["seed=1", "model.encoder.latent_dim=8"],
    ]


def test_a_sweep_without_a_swept_key_is_refused_with_an_example() -> None:
    with pytest.raises(RecipeError, match="at least one override with several values"):
        expand(["seed=1"])


def test_an_empty_value_between_commas_is_refused() -> None:
    with pytest.raises(RecipeError, match="empty value"):
        expand(["seed=0,,2"])


def test_every_point_is_validated_before_anything_trains(tiny_recipe) -> None:
    with pytest.raises(RecipeError, match="override 'model.encoder.latent_dim=0'"):
        plan(tiny_recipe, ["model.encoder.latent_dim=2,0"])
    assert not (tiny_recipe.parent / "runs").exists()


def test_a_finished_run_of_exactly_the_points_recipe_is_found_and_another_seeds_is_not(tiny_recipe) -> None:
    first, second = plan(tiny_recipe, ["seed=0,1", "trainer.epochs=1"])
    assert previous_run(first.resolved) is None
    run, _ = start_run(first.resolved, SilentReporter())
    assert previous_run(first.resolved) == run
    assert previous_run(second.resolved) is None
