"""Several networks, several optimisers, one step: each network moves only under its own optimiser."""

from __future__ import annotations

import pytest
import torch

from condgen.engine.updates import Updates
from condgen.errors import RecipeError
from condgen.compose import build_model
from condgen.recipe import load_recipe
from condgen.recipe.update_order import Stage
from condgen.model import forward_step

from helpers import GAN



@pytest.fixture
def gan(tiny_recipe):
    torch.manual_seed(0)
    resolved = load_recipe(tiny_recipe, GAN)
    composed = build_model(resolved)
    updates = Updates(composed.model, composed.heads, ["classifier", "discriminator", "encoder", "decoder"],
                      resolved.recipe.trainer.optimizer, kl_weight=3.0)
    x, c = composed.dataset.load("train").batch(torch.arange(16))
    return composed, updates, x, c


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def moved(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[name], p) for name, p in module.named_parameters())


def test_optimisers_partition_the_parameters(gan):
    composed, updates, x, c = gan
    owned = [id(p) for optimizer in updates.optimizers.values() for group in optimizer.param_groups for p in group["params"]]
    everything = [id(p) for p in composed.model.parameters()] + [id(p) for p in composed.heads.parameters()]
    assert sorted(owned) == sorted(everything)  # every parameter has exactly one optimiser
    assert set(updates.optimizers) == {"classifier", "discriminator", "encoder", "decoder"}


@pytest.mark.parametrize("head", ["classifier", "discriminator"])
def test_a_head_update_never_moves_the_model_or_the_other_head(gan, head):
    composed, updates, x, c = gan
    other = ({"classifier", "discriminator"} - {head}).pop()
    model, mine, theirs = snapshot(composed.model), snapshot(composed.heads[head]), snapshot(composed.heads[other])
    shared = forward_step(composed.model, x, c, generate=True)
    values = updates.run_stage(Stage("head", (head,)), shared, check=lambda values: None)
    assert f"{head}_loss" in values
    assert moved(mine, composed.heads[head])
    assert not moved(model, composed.model)
    assert not moved(theirs, composed.heads[other])


def test_the_model_update_flows_through_the_heads_without_moving_them(gan):
    composed, updates, x, c = gan
    heads, encoder, decoder = snapshot(composed.heads), snapshot(composed.model.encoder), snapshot(composed.model.decoder)
    shared = forward_step(composed.model, x, c, generate=True)
    values = updates.run_stage(Stage("model", ("encoder", "decoder")), shared, check=lambda values: None)
    assert not moved(heads, composed.heads)
    assert moved(encoder, composed.model.encoder) and moved(decoder, composed.model.decoder)
    for term in ("C_pairwise", "C_mean", "D_pairwise", "D_mean", "encoder_loss", "decoder_loss"):
        assert term in values
    # The feature-matching terms really reach the decoder: its gradient differs from the VAE terms' alone.
    vae_only = torch.autograd.grad(
        forward_step(composed.model, x, c, generate=False).losses.reconstruction, list(composed.model.decoder.parameters())
    )
    torch.manual_seed(1)
    shared = forward_step(composed.model, x, c, generate=True)
    with_heads = sum(term.value for head in composed.heads.values() for term in head.model_losses(shared))
    through_heads = torch.autograd.grad(with_heads, list(composed.model.decoder.parameters()))
    assert any(g.abs().sum() > 0 for g in through_heads)
    assert not all(torch.equal(a, b) for a, b in zip(vae_only, through_heads))


def test_the_check_sees_every_update_before_it_steps(gan):
    composed, updates, x, c = gan
    seen = []
    before = snapshot(composed.model)

    def check(values):
        seen.append(sorted(values))
        if "decoder_loss" in values:
            raise FloatingPointError("stop")

    with pytest.raises(FloatingPointError):
        updates.apply(updates.forward(x, c), check)
    assert [keys[0].split("_")[0] for keys in seen[:2]] == ["classifier", "discriminator"]
    assert not moved(before, composed.model)  # stopped before the model's optimisers stepped


@pytest.mark.parametrize(
    "order,message",
    [
        ("[classifier, encoder, discriminator, decoder]", "next to each other"),
        ("[classifier, discriminator, model, encoder]", "either 'model'"),
        ("[classifier, encoder, decoder]", "leaves out 'discriminator'"),
        ("[classifier, discriminator, encoder, decoder, critic]", "'critic'"),
    ],
)
def test_a_bad_update_order_is_a_recipe_error_with_its_line(tiny_recipe, order, message):
    with pytest.raises(RecipeError, match=message) as caught:
        load_recipe(tiny_recipe, [*GAN, f"trainer.update_order={order}"])
    assert "trainer.update_order" in str(caught.value)


def test_a_bf16_forward_pass_keeps_the_loss_and_its_terms_in_float32(tiny_recipe):
    torch.manual_seed(0)
    resolved = load_recipe(tiny_recipe)
    composed = build_model(resolved)
    updates = Updates(composed.model, composed.heads, None, resolved.recipe.trainer.optimizer, autocast=torch.bfloat16)
    x, c = composed.dataset.load("train").batch(torch.arange(16))
    shared = updates.forward(x, c)
    assert shared.posterior.base_dist.loc.dtype == torch.bfloat16  # the networks did run in bf16
    for term in ("loss", "reconstruction", "kl"):
        assert getattr(shared.losses, term).dtype == torch.float32, term
    before = snapshot(composed.model)
    updates.apply(shared, check=lambda values: None)
    assert moved(before, composed.model)
    assert {p.dtype for p in composed.model.parameters()} == {torch.float32}
