"""The training loop: determinism, exact resume, and what a run folder holds."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch
from helpers import (
    StopAtStep,
    assert_same_tensors,
    checkpoint,
    metrics,
    train,
    without_timings,
)

from condgen.engine.progress import SilentReporter
from condgen.engine.trainer import Interrupted, epoch_order
from condgen.recipe import load_recipe


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_same_recipe_and_seed_give_bitwise_identical_runs(tiny_recipe) -> None:
    first, second = train(tiny_recipe), train(tiny_recipe)
    assert first != second
    a, b = checkpoint(first), checkpoint(second)
    assert_same_tensors(a["model"], b["model"])
    assert a["optimizers"]["model"]["state"].keys() == b["optimizers"]["model"]["state"].keys()
    for key in a["optimizers"]["model"]["state"]:
        assert_same_tensors(a["optimizers"]["model"]["state"][key], b["optimizers"]["model"]["state"][key])
    assert without_timings(metrics(first)) == without_timings(metrics(second))
    assert (first / "samples" / "epoch-002.png").read_bytes() == (second / "samples" / "epoch-002.png").read_bytes()


def test_another_seed_gives_another_model(tiny_recipe) -> None:
    a = checkpoint(train(tiny_recipe, "trainer.epochs=1"))
    b = checkpoint(train(tiny_recipe, "trainer.epochs=1", "seed=1"))
    assert a["model"].keys() == b["model"].keys()
    assert not all(torch.equal(a["model"][key], b["model"][key]) for key in a["model"])


def test_epoch_order_is_a_pure_function_of_seed_and_epoch() -> None:
    torch.manual_seed(123)  # the global RNG plays no part
    order = epoch_order(0, 1, 50)
    torch.manual_seed(456)
    assert torch.equal(order, epoch_order(0, 1, 50))
    assert sorted(order.tolist()) == list(range(50))
    assert not torch.equal(order, epoch_order(0, 2, 50))
    assert not torch.equal(order, epoch_order(1, 1, 50))


# The tiny recipe has 10 steps per epoch, 2 epochs: stop inside epoch 1, on its
# last step, and inside epoch 2.
@pytest.mark.parametrize("stop_at", [4, 10, 13])
def test_resume_after_ctrl_c_reaches_the_uninterrupted_weights(tiny_recipe, cli, stop_at) -> None:
    straight = train(tiny_recipe)

    with pytest.raises(Interrupted) as caught:
        train(tiny_recipe, reporter=StopAtStep(stop_at))
    (interrupted,) = set((tiny_recipe.parent / "runs").iterdir()) - {straight}
    assert f"--resume {interrupted}" in caught.value.hint
    assert json.loads((interrupted / "run.json").read_text())["status"] == "interrupted"
    saved = checkpoint(interrupted)
    assert saved["global_step"] == stop_at
    assert (saved["epoch"], saved["step_in_epoch"]) == {4: (0, 4), 10: (0, 10), 13: (1, 3)}[stop_at]

    code, out, err = cli("run", "--resume", interrupted)
    assert code == 0, err
    assert_same_tensors(checkpoint(straight)["model"], checkpoint(interrupted)["model"])
    assert without_timings(metrics(straight)) == without_timings(metrics(interrupted))
    assert json.loads((interrupted / "run.json").read_text())["status"] == "finished"


@pytest.mark.parametrize(
    "switch",
    [
        "trainer.optimizer.fused=false",
        "trainer.compile=off",
        pytest.param("trainer.compile=on", marks=pytest.mark.slow),  # compiling takes minutes on a busy CPU
        "trainer.precision=bf16",
        "trainer.precision=fp32",  # the default is auto: bf16 on CPUs with native bfloat16
    ],
)
def test_each_speed_switch_trains_and_resumes_to_the_uninterrupted_weights(tiny_recipe, cli, switch) -> None:
    straight = train(tiny_recipe, switch)
    with pytest.raises(Interrupted):
        train(tiny_recipe, switch, reporter=StopAtStep(13))
    (interrupted,) = set((tiny_recipe.parent / "runs").iterdir()) - {straight}
    code, out, err = cli("run", "--resume", interrupted)
    assert code == 0, err
    assert_same_tensors(checkpoint(straight)["model"], checkpoint(interrupted)["model"])
    assert without_timings(metrics(straight)) == without_timings(metrics(interrupted))
    rows = metrics(straight)
    assert rows[1]["test_elbo"] < rows[0]["test_elbo"]  # it learns
    assert (rows[0]["compile_seconds"] > 0) is (switch == "trainer.compile=on")
    assert {tensor.dtype for tensor in checkpoint(straight)["model"].values()} == {torch.float32}  # bf16 too


def test_resume_with_a_changed_recipe_needs_force(tiny_recipe, cli) -> None:
    run = train(tiny_recipe)
    code, out, err = cli("run", "--resume", run, "trainer.epochs=3")
    assert code == 2
    assert "changed: trainer.epochs" in err and "--force" in err
    assert len(metrics(run)) == 2

    code, out, err = cli("run", "--resume", run, "trainer.epochs=3", "--force")
    assert code == 0, err
    assert [row["epoch"] for row in metrics(run)] == [1, 2, 3]
    assert "epochs: 3" in (run / "recipe.yaml").read_text()
    assert (run / "samples" / "epoch-003.png").is_file()


def test_resuming_a_finished_run_changes_nothing(tiny_recipe, cli) -> None:
    run = train(tiny_recipe)
    before = checkpoint(run)
    code, out, err = cli("run", "--resume", run)
    assert code == 0, err
    assert_same_tensors(before["model"], checkpoint(run)["model"])
    assert len(metrics(run)) == 2


def test_run_folder_holds_recipe_metrics_samples_and_checkpoint(tiny_recipe) -> None:
    run = train(tiny_recipe)
    assert run.parent == tiny_recipe.parent / "runs"
    assert run.name.startswith("tiny-")

    rows = metrics(run)
    assert [row["epoch"] for row in rows] == [1, 2]
    assert [row["step"] for row in rows] == [10, 20]
    for row in rows:
        for key in ("train_loss", "train_reconstruction", "train_kl", "test_elbo", "test_reconstruction", "test_kl"):
            assert isinstance(row[key], float) and row[key] == row[key]  # finite numbers, not NaN
        assert row["train_loss"] == pytest.approx(row["train_reconstruction"] + row["train_kl"])
        assert row["images_per_s"] > 0 and row["train_seconds"] > 0
        assert row["ended_at"] > 1.6e9 and row["peak_rss_mb"] > 0
    assert rows[1]["test_elbo"] < rows[0]["test_elbo"]  # it learns
    assert rows[1]["ended_at"] >= rows[0]["ended_at"]

    # A 10x10 grid of 28x28 images with 2-pixel padding, one per epoch.
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch-001.png", "epoch-002.png"]
    assert png_size(run / "samples" / "epoch-001.png") == (302, 302)
    Image = pytest.importorskip("PIL.Image")
    with Image.open(run / "samples" / "epoch-002.png") as image:
        image.load()
        assert image.size == (302, 302)

    state = checkpoint(run)
    for key in ("model", "optimizers", "heads", "rng", "epoch", "recipe", "recipe_digest", "history"):
        assert key in state
    assert state["epoch"] == 2 and state["global_step"] == 20
    assert state["recipe"]["trainer"]["epochs"] == 2
    assert isinstance(state["rng"]["torch"], torch.Tensor)
    assert state["history"] == rows

    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert load_recipe(run / "recipe.yaml").digest() == state["recipe_digest"]
    assert not [p for p in run.rglob("*.tmp")]


def test_samples_per_row_sets_the_grid(tiny_recipe) -> None:
    run = train(tiny_recipe, "trainer.epochs=1", "trainer.samples_per_row=4")
    assert png_size(run / "samples" / "epoch-001.png") == (4 * 30 + 2, 10 * 30 + 2)


def test_checkpoint_every_steps_saves_mid_epoch(tiny_recipe) -> None:
    runs = tiny_recipe.parent / "runs"
    seen: list[int] = []

    class Watch(SilentReporter):
        """Reads the run's checkpoint from disk at every step."""

        def step(self, *args) -> None:
            (run,) = runs.iterdir()
            path = run / "checkpoints" / "last.pt"
            seen.append(checkpoint(run)["global_step"] if path.exists() else 0)

    train(tiny_recipe, "trainer.epochs=1", "trainer.checkpoint_every_steps=3", reporter=Watch())
    # Step k (reported before its own save) sees the checkpoint of the last multiple of 3 before it.
    assert seen == [0, 0, 0, 3, 3, 3, 6, 6, 6, 9]


def test_interrupted_copy_can_be_resumed_elsewhere(tiny_recipe, cli, tmp_path) -> None:
    with pytest.raises(Interrupted):
        train(tiny_recipe, reporter=StopAtStep(5))
    (interrupted,) = (tiny_recipe.parent / "runs").iterdir()
    moved = tmp_path / "moved"
    shutil.copytree(interrupted, moved)
    code, out, err = cli("run", "--resume", moved)
    assert code == 0, err
    assert [row["epoch"] for row in metrics(moved)] == [1, 2]
    assert "Run folder: " + str(moved) in out.replace("\n", "")


NO_PREVIEW = """
import condgen
from condgen_mnist import MNISTConfig
from condgen_mnist.dataset import build


class NoPreview(condgen.ComponentConfig):
    pass


def build_no_preview(config, context):
    dataset = build(MNISTConfig(root={root!r}, download=False), context)

    def preview_conditions(per_row):
        raise condgen.DataError("this dataset cannot draw a preview grid")

    dataset.preview_conditions = preview_conditions
    return dataset


@condgen.hookimpl
def register_components(register):
    register("dataset", "no_preview", build_no_preview, NoPreview)
"""


def test_the_epoch_is_checkpointed_before_anything_that_can_fail_on_user_settings(tiny_recipe, tiny_mnist, cli):
    """A sample grid that fails at the end of epoch 1 costs the grid, not the epoch."""
    (tiny_recipe.parent / "no_preview.py").write_text(NO_PREVIEW.format(root=str(tiny_mnist)))
    code, _, err = cli("run", tiny_recipe, "plugins=[no_preview.py]", "data={name: no_preview}", "trainer.epochs=1")
    assert code == 2 and "cannot draw a preview grid" in err
    (run,) = (tiny_recipe.parent / "runs").iterdir()
    assert checkpoint(run)["epoch"] == 1
    assert [row["epoch"] for row in metrics(run)] == [1]
