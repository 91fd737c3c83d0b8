"""Validation split, best checkpoint, early stopping, schedules, EMA and loggers inside real training runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from condgen.data import hold_out
from condgen.engine.checkpoint import load_checkpoint
from condgen.engine.progress import SilentReporter
from condgen.engine.session import start_run
from condgen.engine.trainer import Interrupted
from condgen.errors import DataError, RecipeError
from condgen.recipe import load_recipe
from helpers import StopAtStep, TIMING_KEYS

#: the tiny recipe holds 200 training images in batches of 20; 50 held out leave 150: 8 steps per epoch
VALIDATION = "data.validation=50"
EVERYTHING = (
    VALIDATION,
    "trainer.epochs=3",
    "trainer.scheduler={name: cosine, warmup_steps: 5, min_factor: 0.1}",
    "trainer.kl_schedule={warmup_steps: 10}",
    "trainer.grad_clip=5.0",
    "trainer.ema={decay: 0.9}",
    "trainer.early_stopping={patience: 5}",
)


def train(recipe: Path, *overrides: str, reporter=None) -> Path:
    run, _ = start_run(load_recipe(recipe, list(overrides)), reporter or SilentReporter())
    return run.path


def rows(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            same(a[key], b[key])
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def test_the_held_out_examples_are_one_fixed_draw_disjoint_from_training() -> None:
    class Rows:
        def __len__(self) -> int:
            return 100

        def batch(self, index):
            return index, index

    train, validation = hold_out(Rows(), 0.2)
    again_train, again_validation = hold_out(Rows(), 20)
    assert torch.equal(validation.rows, again_validation.rows) and torch.equal(train.rows, again_train.rows)
    assert len(validation) == 20 and len(train) == 80
    assert set(train.rows.tolist()).isdisjoint(validation.rows.tolist())
    assert validation.batch(torch.tensor([0]))[0].item() == validation.rows[0].item()
    with pytest.raises(DataError, match="both need at least one"):
        hold_out(Rows(), 100)


def test_with_a_validation_split_each_epoch_is_scored_on_it_and_the_test_split_is_left_alone(tiny_recipe) -> None:
    run = train(tiny_recipe, VALIDATION)
    history = rows(run)
    assert [row["step"] for row in history] == [8, 16]  # 150 training images: 8 steps of 20
    assert all("val_elbo" in row and not any(key.startswith("test_") for key in row) for row in history)
    status = json.loads((run / "run.json").read_text())
    best = min(history, key=lambda row: row["val_elbo"])
    assert (status["best_epoch"], status["best_val_elbo"], status["stopped_early"]) == (
        best["epoch"], best["val_elbo"], False)
    assert load_checkpoint(run / "checkpoints" / "best.pt")["epoch"] == best["epoch"]


def test_another_seed_holds_out_the_same_examples(tiny_recipe) -> None:
    from condgen.engine.trainer import build_parts

    first = build_parts(load_recipe(tiny_recipe, [VALIDATION])).validation_split.rows
    second = build_parts(load_recipe(tiny_recipe, [VALIDATION, "seed=7"])).validation_split.rows
    assert torch.equal(first, second)


def test_early_stopping_stops_after_patience_epochs_without_improvement(tiny_recipe) -> None:
    # min_delta far above any change: only the first epoch counts as an improvement.
    run = train(tiny_recipe, VALIDATION, "trainer.epochs=6",
                "trainer.early_stopping={patience: 2, min_delta: 1000}")
    assert [row["epoch"] for row in rows(run)] == [1, 2, 3]
    status = json.loads((run / "run.json").read_text())
    assert status["stopped_early"] is True and status["best_epoch"] == 1 and status["status"] == "finished"
    assert load_checkpoint(run / "checkpoints" / "best.pt")["epoch"] == 1


def test_early_stopping_without_a_validation_split_is_refused_before_a_run_folder_exists(tiny_recipe) -> None:
    with pytest.raises(RecipeError, match="needs a validation split"):
        train(tiny_recipe, "trainer.early_stopping={patience: 2}")
    assert not (tiny_recipe.parent / "runs").exists()


# 8 steps per epoch, 3 epochs: stop inside the warm-ups (step 4), at an epoch's end (8) and in epoch 3 (19).
@pytest.mark.slow
@pytest.mark.parametrize("stop_at", [4, 8, 19])
def test_every_feature_on_resumes_exactly(tiny_recipe, cli, stop_at) -> None:
    straight = train(tiny_recipe, *EVERYTHING)
    with pytest.raises(Interrupted):
        train(tiny_recipe, *EVERYTHING, reporter=StopAtStep(stop_at))
    (interrupted,) = set((tiny_recipe.parent / "runs").iterdir()) - {straight}
    code, _, err = cli("run", "--resume", interrupted)
    assert code == 0, err
    for name in ("last.pt", "best.pt"):
        a, b = (load_checkpoint(run / "checkpoints" / name) for run in (straight, interrupted))
        same(a["model"], b["model"])
        same(a["ema"], b["ema"])
        same(a["optimizers"], b["optimizers"])
        assert a["selection"] == b["selection"]
    assert rows(straight) == rows(interrupted)


def test_the_schedule_sets_every_step_and_the_features_change_the_weights(tiny_recipe) -> None:
    plain = load_checkpoint(train(tiny_recipe, VALIDATION, "trainer.epochs=3") / "checkpoints" / "last.pt")
    tuned = load_checkpoint(train(tiny_recipe, *EVERYTHING) / "checkpoints" / "last.pt")
    group = tuned["optimizers"]["model"]["param_groups"][0]
    # the last step (23 of 24) set the cosine factor 0.1 + 0.9 * 0.5 * (1 + cos(pi * 18 / 19))
    assert group["lr"] == pytest.approx(1e-3 * (0.1 + 0.45 * (1 + torch.cos(torch.tensor(torch.pi * 18 / 19)).item())))
    assert any(not torch.equal(plain["model"][key], tuned["model"][key]) for key in plain["model"])
    for name, average in tuned["ema"]["weights"].items():  # the average lags the trained weights
        if average.is_floating_point() and average.dim() > 1:
            assert not torch.equal(average, tuned["model"][name])


def test_eval_uses_best_by_default_says_which_and_which_weights(tiny_recipe, cli) -> None:
    run = train(tiny_recipe, VALIDATION, "trainer.ema={decay: 0.9}")
    code, out, err = cli("eval", run, "--k", "2", "--per-class", "5", "--particles", "1")
    assert code == 0, err
    settings = json.loads((run / "eval.json").read_text())["settings"]
    assert (settings["checkpoint"], settings["weights"]) == ("best", "ema")
    assert "best checkpoint" in out and "moving average" in out
    code, _, err = cli("eval", run, "--checkpoint", "last", "--k", "2", "--per-class", "5", "--particles", "1")
    assert code == 0, err
    assert json.loads((run / "eval.json").read_text())["settings"]["checkpoint"] == "last"


def test_a_run_without_validation_has_no_best_checkpoint_to_ask_for(tiny_recipe, cli) -> None:
    run = train(tiny_recipe, "trainer.epochs=1")
    assert not (run / "checkpoints" / "best.pt").exists()
    code, _, err = cli("eval", run, "--checkpoint", "best")
    assert code == 2 and "no best checkpoint" in err


def test_the_recipes_loggers_receive_every_epoch_and_the_sample_grids(tiny_recipe) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tiny_recipe.write_text(tiny_recipe.read_text() + "loggers: [{name: tensorboard}]\n")
    run = train(tiny_recipe, VALIDATION)
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("val_elbo")] == [(r["step"], pytest.approx(r["val_elbo"]))
                                                                        for r in rows(run)]
    assert [image.step for image in events.Images("samples")] == [8, 16]


def test_free_bits_count_each_dimensions_kl_as_at_least_the_threshold(tiny_recipe) -> None:
    from condgen.engine.updates import Updates
    from condgen.compose import build_model

    resolved = load_recipe(tiny_recipe)
    composed = build_model(resolved)
    x, c = composed.dataset.load("train").batch(torch.arange(20))
    settings = resolved.recipe.trainer

    def kl_objective(free_bits: float):
        updates = Updates(composed.model, composed.heads, settings.update_order, settings.optimizer, free_bits=free_bits)
        torch.manual_seed(0)
        shared = updates.forward(x, c)
        return updates._free_bits_kl(shared), shared.losses.kl

    clamped, _ = kl_objective(50.0)
    assert clamped.item() == 100.0  # 2 latent dimensions, each far under 50 nats at initialisation
    # clamped dimensions pass no gradient: the encoder is not pushed towards the prior below the threshold
    grads = torch.autograd.grad(clamped, list(composed.model.encoder.parameters()), allow_unused=True)
    assert all(grad is None or not grad.any() for grad in grads)
    free, true_kl = kl_objective(1e-12)
    assert free.item() == pytest.approx(true_kl.item(), rel=1e-5)  # below every dimension's KL: the plain KL


def test_a_run_with_free_bits_trains_and_resumes_like_any_other(tiny_recipe) -> None:
    run = train(tiny_recipe, "trainer.epochs=1", "trainer.kl_schedule={warmup_steps: 5, free_bits: 0.5}")
    assert json.loads((run / "run.json").read_text())["status"] == "finished"


OWN_SPLITS = '''
import torch
import condgen


class Config(condgen.ComponentConfig):
    pass


class ThreeSplits:
    """Random 4x4 "images" with one-hot labels, in train, validation and test splits of its own."""

    x_shape, condition_shape = (1, 4, 4), (2,)
    splits = ("train", "validation", "test")

    def __init__(self, config, context):
        pass

    def load(self, split):
        n = {"train": 40, "validation": 12, "test": 8}[split]
        g = torch.Generator().manual_seed(len(split))
        labels = torch.arange(n) % 2
        return condgen.TensorSplit(torch.rand(n, 1, 4, 4, generator=g), torch.eye(2)[labels])

    def preview_conditions(self, per_row):
        return torch.eye(2).repeat_interleave(per_row, 0)


@condgen.hookimpl
def register_components(register):
    register("dataset", "three_splits", ThreeSplits, Config)
'''


def test_a_dataset_with_its_own_validation_split_is_scored_on_it(tmp_path) -> None:
    (tmp_path / "three_splits.py").write_text(OWN_SPLITS)
    recipe = tmp_path / "own.yaml"
    recipe.write_text(
        "name: own\nplugins: [three_splits.py]\ndata: {name: three_splits}\n"
        "model: {conditioner: {name: concat}, encoder: {name: mlp, hidden: [8], latent_dim: 2}, "
        "decoder: {name: mlp, hidden: [8]}}\n"
        f"trainer: {{epochs: 2, batch_size: 10, samples_per_row: 2}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    run = train(recipe)
    history = rows(run)
    assert [row["step"] for row in history] == [4, 8]  # all 40 training examples: nothing held out
    assert all("val_elbo" in row and "test_elbo" not in row for row in history)
    assert (run / "checkpoints" / "best.pt").is_file()


def test_grad_clip_bounds_each_updates_gradient_norm(tiny_recipe) -> None:
    from condgen.engine.updates import Updates
    from condgen.compose import build_model
    from condgen.recipe.schema import OptimizerSection

    resolved = load_recipe(tiny_recipe)
    composed = build_model(resolved)
    x, c = composed.dataset.load("train").batch(torch.arange(20))
    before = [p.detach().clone() for p in composed.model.parameters()]
    # plain SGD with lr 1: the step is minus the (clipped) gradient, so its norm is the gradient's
    sgd = OptimizerSection(name="sgd", lr=1.0)
    updates = Updates(composed.model, composed.heads, None, sgd, grad_clip=0.01)
    updates.step(x, c, lambda what: AssertionError(what))
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(composed.model.parameters(), before)])
    assert 0 < moved.norm().item() <= 0.01 + 1e-6
