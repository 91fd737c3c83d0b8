"""condgen's Python API: load_run and train, over the same run folders as the CLI."""

from __future__ import annotations

import json

import pytest
import torch

import condgen
from helpers import TINY_RECIPE, write_mnist_root
from condgen.errors import CheckpointError, UserError


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> condgen.Run:
    root = tmp_path_factory.mktemp("api")
    recipe = root / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(root=write_mnist_root(root / "data"), out=root / "runs"))
    return condgen.train(recipe, ["trainer.epochs=1"])


def test_train_returns_the_finished_run_it_wrote(trained) -> None:
    assert trained.epoch == 1
    assert json.loads((trained.path / "run.json").read_text())["status"] == "finished"
    assert trained.recipe.trainer.epochs == 1 and trained.recipe.name == "tiny"
    assert not trained.model.training


def test_load_run_gives_the_trained_weights(trained) -> None:
    again = condgen.load_run(trained.path)
    for (name, mine), (_, theirs) in zip(trained.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(mine, theirs), name


def test_sample_gives_n_images_per_label_in_label_order(trained) -> None:
    images = trained.sample(label=[3, 7], n=4, seed=0)
    assert images.shape == (8, 1, 28, 28)
    assert 0.0 <= images.min() and images.max() <= 1.0
    # label-major: four 3s, then four 7s
    torch.manual_seed(0)
    expected = trained.model.sample(trained.dataset.conditions_for_labels(torch.tensor([3, 3, 3, 3, 7, 7, 7, 7])))
    assert torch.equal(images, expected)


def test_sample_with_a_seed_repeats_and_without_one_draws_afresh(trained) -> None:
    first, second = trained.sample(label=1, n=5, seed=3), trained.sample(label=1, n=5, seed=3)
    assert torch.equal(first, second)
    assert not torch.equal(trained.sample(label=1, n=5), trained.sample(label=1, n=5))


def test_sample_takes_raw_conditions(trained) -> None:
    condition = trained.dataset.conditions_for_labels(torch.tensor([0, 9]))
    assert trained.sample(condition=condition).shape == (2, 1, 28, 28)


def test_evaluate_gives_what_condgen_eval_writes(trained, cli) -> None:
    scores = trained.evaluate(k=5, per_class=20, particles=2)
    written = json.loads((trained.path / "eval.json").read_text())
    assert scores["nll"] == written["nll"] and scores["settings"]["k"] == 5
    code, _, err = cli("eval", trained.path, "--k", "5", "--per-class", "20", "--particles", "2")
    assert code == 0, err
    from_cli = json.loads((trained.path / "eval.json").read_text())
    for key in ("test_elbo", "test_elbo_particles", "nll", "cond_accuracy", "fid"):
        assert from_cli[key] == scores[key], key


def test_to_moves_the_model_and_returns_the_run(trained) -> None:
    assert trained.to("cpu") is trained and trained.device == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_run_moved_to_the_gpu_samples_and_evaluates_there(trained) -> None:
    run = condgen.load_run(trained.path).to("cuda")
    assert run.sample(label=2, n=3, seed=0).device.type == "cuda"
    on_gpu = run.evaluate(k=5, per_class=20, particles=2)
    assert on_gpu["cond_accuracy"] is not None and on_gpu["nll"] > 0


def test_a_label_for_a_dataset_without_labels_is_a_user_error(tmp_path, tiny_mnist) -> None:
    recipe = tmp_path / "unlabelled.yaml"
    recipe.write_text(
        f"name: masked\ndata: {{name: inpainting, base: {{name: mnist, root: {tiny_mnist}, download: false}}, "
        "mask: {name: quadrants, observed: 1}}\n"
        "model: {conditioner: {name: none}, encoder: {name: mlp, hidden: [8], latent_dim: 2}, "
        "decoder: {name: mlp, hidden: [8]}, prior: {name: conditional, hidden: [8]}}\n"
        f"trainer: {{epochs: 1, batch_size: 50}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    run = condgen.train(recipe)
    with pytest.raises(UserError, match="no class labels"):
        run.sample(label=3)
    assert run.sample(n=4).shape == (4, 1, 28, 28)


def test_load_run_of_a_folder_that_is_not_a_run_is_a_checkpoint_error(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not a run folder"):
        condgen.load_run(tmp_path)
