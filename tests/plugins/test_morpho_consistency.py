"""The ``attribute_consistency`` head: generated images are asked to measure like their digits, with no update of its own."""

from __future__ import annotations

import pytest
import torch
from condgen_morpho.config import ConsistencyConfig, MorphoConfig
from condgen_morpho.consistency import AttributeConsistency
from helpers import (
    StopAtStep, assert_same_tensors, bar_images, checkpoint, condgen_process, metrics, train, without_timings,
)
from torch import distributions as D

import condgen
from condgen import TrainingStep
from condgen.engine.trainer import Interrupted
from condgen.testing import check_component

def head_with(match: str) -> str:
    """The override that adds this head, comparing by ``match``, to a recipe."""
    return f"model.heads={{consistency: {{name: attribute_consistency, match: {match}}}}}"


def step_with(x: torch.Tensor, generated: torch.Tensor) -> TrainingStep:
    """A training step whose reconstructions and prior samples are both ``generated``."""
    z = torch.zeros(len(x), 2)
    posterior = D.Independent(D.Normal(z, torch.ones_like(z)), 1)
    return TrainingStep(x, torch.zeros(len(x), 10), posterior, z, None, x_f=generated, z_p=z, x_p=generated)


def head(**options) -> AttributeConsistency:
    """The head at full weight from its first step, unless ``warmup_steps`` says otherwise."""
    options = {"warmup_steps": 0, **options}
    return AttributeConsistency(ConsistencyConfig(**options), condgen.BuildContext(x_shape=(1, 28, 28)))


def digits() -> torch.Tensor:
    images, _ = bar_images(60, seed=2)
    present = images.flatten(1).amax(1) > 0
    return images[present, None].float() / 255


def test_the_kit_accepts_a_head_without_parameters() -> None:
    report = check_component("head", "attribute_consistency")
    assert "has no parameters and no update of its own" in report.passed


def test_images_that_measure_like_their_digits_cost_nothing_and_thicker_ones_cost_more_with_weight() -> None:
    x = digits()
    assert all(term.value.item() == 0 for term in head().model_losses(step_with(x, x.clone())))
    thicker = torch.nn.functional.max_pool2d(x, 3, 1, 1)  # every stroke a pixel wider on each side
    terms = {term.name: term for term in head().model_losses(step_with(x, thicker))}
    assert terms["consistency_reconstruction"].roles == {"encoder", "decoder"}
    assert terms["consistency_prior"].roles == {"decoder"}
    assert terms["consistency_reconstruction"].value.item() > 1
    doubled = {t.name: t.value for t in head(lambda_reconstruction=20.0).model_losses(step_with(x, thicker))}
    assert doubled["consistency_reconstruction"].item() == pytest.approx(2 * terms["consistency_reconstruction"].value.item())
    assert [t.name for t in head(lambda_prior=0.0).model_losses(step_with(x, thicker))] == ["consistency_reconstruction"]


def test_its_gradient_thins_images_that_read_too_thick() -> None:
    x = digits()
    thicker = torch.nn.functional.max_pool2d(x, 3, 1, 1).requires_grad_(True)
    consistency = head(attributes=["thickness"], lambda_prior=0.0)
    (term,) = consistency.model_losses(step_with(x, thicker))
    term.value.backward()
    moved = (thicker - 0.3 * thicker.grad / thicker.grad.abs().max()).clamp(0, 1).detach()
    (after,) = consistency.model_losses(step_with(x, moved))
    assert after.value.item() < term.value.item()


@pytest.mark.parametrize(
    "config, required", [(ConsistencyConfig, {}), (MorphoConfig, {"base": {"name": "mnist"}})], ids=["head", "dataset"]
)
def test_an_attribute_named_twice_is_refused(config, required) -> None:
    with pytest.raises(ValueError, match="each attribute may appear once; repeated: thickness"):
        config(**required, attributes=["thickness", "slant", "thickness"])


def test_colour_images_are_refused_with_a_message() -> None:
    with pytest.raises(condgen.PluginError, match=r"grayscale images, x of shape \(1, H, W\)"):
        AttributeConsistency(ConsistencyConfig(), condgen.BuildContext(x_shape=(3, 32, 32)))


@pytest.mark.parametrize("match", ["example", "bin"])
def test_a_recipe_with_it_trains_logs_its_terms_and_keeps_no_optimiser_for_it(tiny_recipe, match) -> None:
    run = train(tiny_recipe, head_with(match))
    rows = metrics(run)
    assert all("train_consistency_reconstruction" in row and "train_consistency_prior" in row for row in rows)
    assert set(checkpoint(run)["optimizers"]) == {"encoder", "decoder"}


@pytest.mark.slow
@pytest.mark.parametrize("match", ["example", "bin"])  # bin: the running bin edges travel in the checkpoint
def test_a_run_with_it_resumes_to_identical_weights(tiny_recipe, cli, match) -> None:
    straight = train(tiny_recipe, head_with(match))
    with pytest.raises(Interrupted):
        train(tiny_recipe, head_with(match), reporter=StopAtStep(13))
    (interrupted,) = set((tiny_recipe.parent / "runs").iterdir()) - {straight}
    code, _, err = cli("run", "--resume", interrupted)
    assert code == 0, err
    assert_same_tensors(checkpoint(straight)["model"], checkpoint(interrupted)["model"])
    assert_same_tensors(checkpoint(straight)["heads"], checkpoint(interrupted)["heads"])  # the clock, the edges
    assert without_timings(metrics(straight)) == without_timings(metrics(interrupted))


def test_distribution_matching_asks_for_the_datas_spread_not_for_each_digit() -> None:
    x = digits()
    shuffled = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))]
    by_example = {t.name: t.value.item() for t in head().model_losses(step_with(x, shuffled))}
    by_distribution = {t.name: t.value.item() for t in head(match="distribution").model_losses(step_with(x, shuffled))}
    assert by_example["consistency_reconstruction"] > 1
    assert by_distribution["consistency_reconstruction"] == pytest.approx(0, abs=1e-9)
    thicker = torch.nn.functional.max_pool2d(shuffled, 3, 1, 1)
    (term, _) = head(match="distribution").model_losses(step_with(x, thicker))
    assert term.value.item() > 1


def test_the_weights_rise_over_the_warmup_steps_and_only_training_steps_count() -> None:
    x = digits()
    thicker = torch.nn.functional.max_pool2d(x, 3, 1, 1)
    full = head().model_losses(step_with(x, thicker))[0].value.item()
    warming = head(warmup_steps=4)
    warming.eval()
    assert warming.model_losses(step_with(x, thicker))[0].value.item() == 0  # evaluation does not move the clock
    warming.train()
    seen = [warming.model_losses(step_with(x, thicker))[0].value.item() for _ in range(6)]
    assert seen == pytest.approx([full / 4, full / 2, 3 * full / 4, full, full, full])
    assert int(warming.state_dict()["steps"]) == 6  # checkpointed: a resumed run continues the ramp


def test_bin_matching_asks_a_prior_sample_only_to_land_in_its_digits_bin() -> None:
    x = digits()
    binned = head(match="bin", attributes=["thickness"], margin=0.0)
    assert [t.value.item() for t in binned.model_losses(step_with(x, x.clone()))] == [0, 0]
    thickness = binned._measure(x)[:, 0]
    top = thickness >= binned.edges[0, 1]  # the thick bin has no upper edge
    assert 0 < int(top.sum()) < len(x)
    thicker_at_top = torch.where(top[:, None, None, None], torch.nn.functional.max_pool2d(x, 3, 1, 1), x)
    by_bin = {t.name: t.value.item() for t in binned.model_losses(step_with(x, thicker_at_top))}
    by_example = {t.name: t.value.item() for t in head(attributes=["thickness"]).model_losses(step_with(x, thicker_at_top))}
    assert by_example["consistency_prior"] > 1
    assert by_bin["consistency_prior"] == 0  # thicker but still thick: nothing to pull
    assert by_bin["consistency_reconstruction"] == pytest.approx(by_example["consistency_reconstruction"])
    thickest = x[thickness.argmax()].expand_as(x)  # every prior sample the thickest digit
    (_, prior) = binned.model_losses(step_with(x, thickest))
    assert prior.value.item() > 1
    inset = head(match="bin", attributes=["thickness"], margin=0.5).model_losses(step_with(x, x.clone()))[1]
    assert inset.value.item() > 0  # a margin asks digits near an edge to move inside it


def test_bin_edges_are_running_quantiles_that_only_training_moves_and_the_checkpoint_keeps() -> None:
    x = digits()
    first, second = x[: len(x) // 2], x[len(x) // 2 :]
    binned = head(match="bin", attributes=["thickness", "slant"], bins=4, edge_momentum=0.9)
    quantiles = lambda images: torch.quantile(binned._measure(images), torch.tensor([0.25, 0.5, 0.75]), dim=0).T
    binned.model_losses(step_with(first, first))
    assert torch.allclose(binned.edges, quantiles(first))
    binned.model_losses(step_with(second, second))
    expected = 0.9 * quantiles(first) + 0.1 * quantiles(second)
    assert torch.allclose(binned.edges, expected)
    binned.eval()
    binned.model_losses(step_with(first, first))
    assert torch.allclose(binned.edges, expected)
    restored = head(match="bin", attributes=["thickness", "slant"], bins=4)
    restored.load_state_dict(binned.state_dict())
    assert torch.equal(restored.edges, binned.edges)


@pytest.mark.slow
def test_on_two_processes_the_ranks_bin_edges_agree_at_every_checkpoint(tiny_recipe) -> None:
    # Each rank estimates the edges on its share of the batch; the engine averages floating buffers after every
    # step, and every checkpoint compares the ranks' weights and buffers bit for bit, failing the run if they differ.
    done = condgen_process("run", tiny_recipe, head_with(match="bin"), "trainer.epochs=2", "--nproc", "2",
                           cwd=tiny_recipe.parent)
    assert done.returncode == 0, done.stderr
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    state = checkpoint(run)
    assert state["world_size"] == 2 and torch.isfinite(state["heads"]["consistency.edges"]).all()
