"""A model that cannot fit in the machine's memory is refused when it is built, with the estimate, before any of it
is allocated; the estimate itself draws no random numbers, so it changes no run."""

from __future__ import annotations

import torch

from condgen.memory import check_fits, nbytes
from condgen.compose import build_model
from condgen.recipe import load_recipe

HUGE = "model.encoder.hidden=[" + ",".join(["65536"] * 30) + "]"  # 29 layers of 65536^2: ~125 G parameters


def test_a_model_larger_than_the_machine_is_refused_with_its_estimate(tiny_recipe, cli) -> None:
    code, _, err = cli("run", tiny_recipe, HUGE)
    assert code == 2, err
    text = " ".join(err.split())
    assert "too large for this machine" in text and "GiB" in text and "encoder" in text
    assert "Traceback" not in err
    assert not (tiny_recipe.parent / "runs").exists()


def test_the_estimate_names_the_sizes_against_the_memory_it_was_given(tiny_recipe) -> None:
    resolved = load_recipe(tiny_recipe)
    model = build_model(resolved).model
    size = nbytes(model)
    check_fits(lambda: model.named_children(), available=4 * size)  # exactly fits: weights, gradients, 2 moments
    try:
        check_fits(lambda: model.named_children(), available=4 * size - 1)
    except Exception as error:
        assert "training needs about 4x that" in str(error)
    else:
        raise AssertionError("a model one byte too large was accepted")


def test_estimating_changes_no_weight(tiny_recipe) -> None:
    """The meta-device build before the real one draws nothing: same seed, same weights as without it."""
    from condgen.compose import _networks, resolver

    resolved = load_recipe(tiny_recipe)
    torch.manual_seed(0)
    composed = build_model(resolved)
    torch.manual_seed(0)
    direct, _ = _networks(resolved, composed.dataset, resolver(resolved.plugins))
    mine, theirs = composed.model.state_dict(), direct.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[key], theirs[key]) for key in mine)
