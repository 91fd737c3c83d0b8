"""The ``morpho`` dataset: label then standardised measured attributes, statistics kept in the run, requests in natural units."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from condgen_morpho import measure as M
from condgen_morpho.config import MorphoConfig
from condgen_morpho.dataset import build
from helpers import bar_images, installed_context, write_bar_root

import condgen
from condgen import ConditionRequest, conditions_for
from condgen.engine.loaded_run import load_run


@pytest.fixture
def bars(tmp_path: Path) -> Path:
    return write_bar_root(tmp_path / "data")


def morpho(root: Path, **options):
    config = MorphoConfig.model_validate(
        {"base": {"name": "mnist", "root": str(root), "download": False}, "workers": 1, **options}
    )
    return build(config, installed_context())


def test_the_condition_is_the_one_hot_label_then_the_standardised_attributes(bars: Path) -> None:
    dataset = morpho(bars, attributes=["thickness", "slant"])
    assert dataset.condition_shape == (12,) and isinstance(dataset, condgen.MetricDataset)
    train, test = dataset.load("train"), dataset.load("test")
    _, condition = test.batch(torch.arange(70))
    images, labels = bar_images(70, seed=1)
    measured = M.measure(images.numpy(), workers=1)
    assert torch.equal(condition[:, :10], torch.nn.functional.one_hot(labels, 10).float())
    stats = dataset.statistics
    for i, name in enumerate(["thickness", "slant"]):
        expected = (torch.from_numpy(measured[name]) - stats["mean"][i]) / stats["std"][i]
        present = ~torch.isnan(expected)
        torch.testing.assert_close(condition[present, 10 + i], expected[present].float())
        # a blank image (every 7th) has no measurements: it gets the training median
        median = (stats["median"][i] - stats["mean"][i]) / stats["std"][i]
        torch.testing.assert_close(condition[~present, 10 + i], median.float().expand(int((~present).sum())))
    # the statistics are the training split's: its standardised attributes have mean 0 and sd 1 (blanks aside)
    train_measured = torch.from_numpy(train.measured)
    assert torch.allclose(torch.nanmean(train_measured, 0).double(), stats["mean"])
    assert len(train) == 140 and len(test) == 70


def test_attributes_only_when_label_is_false(bars: Path) -> None:
    dataset = morpho(bars, attributes=["area"], label=False)
    assert dataset.condition_shape == (1,) and not isinstance(dataset, condgen.LabelledDataset)
    batch = conditions_for(dataset, ConditionRequest(attributes={"area": 50.0}, copies=3))
    assert batch.conditions.shape == (3, 1) and len(batch.rows) == 1
    with pytest.raises(condgen.UserError, match="attributes only; drop --label"):
        conditions_for(dataset, ConditionRequest(labels=(3,)))


def test_a_request_takes_natural_units_and_fills_the_rest_with_the_training_median(bars: Path) -> None:
    dataset = morpho(bars, attributes=["thickness", "slant"])
    stats = dataset._stats()
    batch = conditions_for(dataset, ConditionRequest(labels=(7, 2), attributes={"thickness": 4.0}, copies=3))
    assert batch.conditions.shape == (6, 12)
    assert batch.conditions[:3, 7].eq(1).all() and batch.conditions[3:, 2].eq(1).all()
    expected_thickness = (4.0 - stats["mean"][0]) / stats["std"][0]
    expected_slant = (stats["median"][1] - stats["mean"][1]) / stats["std"][1]
    torch.testing.assert_close(batch.conditions[:, 10], expected_thickness.float().expand(6))
    torch.testing.assert_close(batch.conditions[:, 11], expected_slant.float().expand(6))
    assert batch.rows[0].startswith("7, thickness=4 px, slant=")
    assert any(note.startswith("slant at the training median") for note in batch.notes)


def test_no_labels_means_one_row_per_class(bars: Path) -> None:
    batch = conditions_for(morpho(bars), ConditionRequest(attributes={"slant": 0.2}, copies=2))
    assert batch.conditions.shape == (20, 12) and batch.rows[3].startswith("3, ")
    assert torch.equal(batch.conditions[:, :10].argmax(1), torch.arange(10).repeat_interleave(2))


def test_a_value_outside_the_training_range_is_noted_not_refused(bars: Path) -> None:
    batch = conditions_for(morpho(bars), ConditionRequest(labels=(1,), attributes={"thickness": 40.0}))
    assert any("thickness=40 px is outside the training range" in note for note in batch.notes)


def test_an_unknown_attribute_names_the_ones_the_dataset_has(bars: Path) -> None:
    with pytest.raises(condgen.UserError) as caught:
        conditions_for(morpho(bars, attributes=["thickness", "slant"]), ConditionRequest(attributes={"thicknes": 3.0}))
    assert "no attribute 'thicknes'; its attributes: thickness, slant" in str(caught.value)
    assert "Did you mean 'thickness'?" in str(caught.value)
    with pytest.raises(condgen.UserError, match="no attribute 'area'"):
        conditions_for(morpho(bars, attributes=["thickness"]), ConditionRequest(attributes={"area": 3.0}))


def test_text_is_refused_with_a_message(bars: Path) -> None:
    with pytest.raises(condgen.UserError, match="does not take text"):
        conditions_for(morpho(bars), ConditionRequest(text=("a thick seven",)))


def test_a_non_finite_value_is_refused(bars: Path) -> None:
    with pytest.raises(condgen.UserError, match="finite"):
        ConditionRequest(attributes={"thickness": float("nan")})


def test_the_measurements_are_cached_beside_the_data(bars: Path) -> None:
    morpho(bars).load("train")
    cached = sorted(path.name for path in (bars / "morpho").iterdir())
    assert len(cached) == 1 and cached[0].startswith(f"morpho-v{M.VERSION}-")


def test_label_true_over_a_base_without_class_labels_is_refused(bars: Path) -> None:
    config = MorphoConfig.model_validate({"base": {"name": "inpainting", "base": {"name": "mnist", "root": str(bars)}}})
    with pytest.raises(condgen.PluginError, match="needs a base dataset with class labels.*'inpainting' has none"):
        build(config, installed_context())


RECIPE = """\
name: tiny_morpho
seed: 0
data:
  name: morpho
  base: {{name: mnist, root: {root}, download: false}}
  attributes: [{attributes}]
  workers: 1
model:
  conditioner: {{name: concat}}
  encoder: {{name: mlp, hidden: [32], latent_dim: 2}}
  decoder: {{name: mlp, hidden: [32]}}
  prior: {{name: standard_normal}}
trainer: {{epochs: 1, batch_size: 20, optimizer: {{name: adam, lr: 1.0e-3}}}}
output: {{dir: {out}}}
"""


def write_recipe(tmp_path: Path, root: Path, attributes: str = "thickness, slant") -> Path:
    path = tmp_path / "tiny_morpho.yaml"
    path.write_text(RECIPE.format(root=root, attributes=attributes, out=tmp_path / "runs"))
    return path


def test_the_statistics_travel_in_the_checkpoint_so_a_run_samples_without_its_data(bars, tmp_path, cli) -> None:
    code, out, err = cli("run", write_recipe(tmp_path, bars))
    assert code == 0, err
    run = next((tmp_path / "runs").iterdir())
    trained = morpho(bars)._stats()
    shutil.rmtree(bars)
    loaded = load_run(run)
    for name, value in trained.items():
        assert torch.equal(loaded.dataset.statistics[name], value)
    batch = conditions_for(loaded.dataset, ConditionRequest(labels=(4,), attributes={"thickness": 3.0}))
    torch.testing.assert_close(batch.conditions[0, 10], ((3.0 - trained["mean"][0]) / trained["std"][0]).float())


def test_an_unknown_attribute_in_a_recipe_gives_its_line_and_the_valid_names(bars, tmp_path, cli) -> None:
    code, out, err = cli("validate", write_recipe(tmp_path, bars, "thickness, thicknes"))
    assert code == 2
    assert "tiny_morpho.yaml:6" in err
    assert "'thickness', 'slant', 'width', 'height' or 'area'" in err


@pytest.mark.slow
def test_attribute_control_of_a_generator_that_draws_what_it_is_asked_is_near_perfect(bars: Path) -> None:
    """A real generator that renders a bar of the requested thickness: Spearman near 1, MAE a fraction of a pixel."""
    dataset = morpho(bars, attributes=["thickness"], label=False)
    stats = dataset._stats()

    def draw(conditions: torch.Tensor) -> torch.Tensor:
        widths = conditions[:, 0].double() * stats["std"][0] + stats["mean"][0]
        y, x = torch.meshgrid(torch.arange(28 * 8), torch.arange(28 * 8), indexing="ij")
        centre = (x + 0.5) / 8 - 14
        rows = ((y + 0.5) / 8 - 14).abs() <= 8
        inside = (centre.abs()[None] <= widths[:, None, None] / 2) & rows[None]
        return inside.float().reshape(-1, 28, 8, 28, 8).mean((2, 4))[:, None]

    control = dataset.control_metrics(draw, dataset.load("test"), per_class=300)["attribute_control"]["thickness"]
    assert control["images"] == 10 * 3 and control["missing"] == 0  # 10 values, 300 // 100 copies, one row
    assert control["spearman"] > 0.99
    # what remains is the measure's own bias (skeleton ends sit near the background: thickness reads a little low)
    assert control["mae"] < 0.3 and control["mae_over_sd"] == pytest.approx(control["mae"] / control["test_sd"])
    low, high = np.nanpercentile(dataset.load("test").measured[:, 0], [5, 95])
    assert control["requested_range"] == pytest.approx([low, high])


@pytest.mark.slow
def test_condgen_eval_adds_attribute_control_to_eval_json(bars, tmp_path, cli) -> None:
    assert cli("run", write_recipe(tmp_path, bars))[0] == 0
    run = next((tmp_path / "runs").iterdir())
    code, out, err = cli("eval", run, "--k", "2", "--per-class", "100", "--particles", "1")
    assert code == 0, err
    result = json.loads((run / "eval.json").read_text())
    control = result["attribute_control"]
    assert set(control) == {"thickness", "slant"}
    for values in control.values():
        assert values["images"] == 100 and values["values"] == 10  # 10 requested values x 10 labels x 1 copy
        assert values["spearman"] is None or -1 <= values["spearman"] <= 1
    assert result["cond_accuracy"] is not None  # the label still judged by mnist's metric network
    assert "attribute_control" in out and "spearman" in out and "slant" in out


@pytest.mark.mnist
@pytest.mark.slow
def test_the_mnist_test_set_measures_as_the_readme_says(real_mnist_root: Path, tmp_path: Path) -> None:
    """The README's attribute table (medians and sds), from the real MNIST test images, measured afresh."""
    from condgen.compat import torchvision

    images = torchvision.datasets.MNIST(str(real_mnist_root), train=False, download=False).data.numpy()
    measured = M.measure(images)
    assert not np.isnan(measured["thickness"]).any()
    for name, median, sd in (("thickness", 2.52, 0.682), ("slant", 0.0851, 0.248), ("width", 14.1, 4.27),
                             ("height", 20.0, 1.18), ("area", 102, 34.5)):
        assert np.median(measured[name]) == pytest.approx(median, rel=0.01, abs=1e-3)
        assert np.std(measured[name]) == pytest.approx(sd, rel=0.01)
