"""``condgen sample --attr`` and ``--sweep`` on a run of the ``morpho`` dataset, and their bad input."""

from __future__ import annotations

from pathlib import Path

import PIL.Image
import pytest
import torch

from helpers import write_bar_root
from condgen import ConditionRequest, conditions_for
from condgen.engine.images import save_grid
from condgen.engine.loaded_run import load_run

RECIPE = """\
name: tiny_morpho
seed: 0
data:
  name: morpho
  base: {{name: mnist, root: {root}, download: false}}
  attributes: [thickness, slant]
  workers: 1
model:
  conditioner: {{name: concat}}
  encoder: {{name: mlp, hidden: [32], latent_dim: 2}}
  decoder: {{name: mlp, hidden: [32]}}
  prior: {{name: standard_normal}}
trainer: {{epochs: 1, batch_size: 20, optimizer: {{name: adam, lr: 1.0e-3}}}}
output: {{dir: {out}}}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from condgen.cli import main

    folder = tmp_path_factory.mktemp("morpho")
    recipe = folder / "tiny_morpho.yaml"
    recipe.write_text(RECIPE.format(root=write_bar_root(folder / "data"), out=folder / "runs"))
    assert main(["run", str(recipe)]) == 0
    return next((folder / "runs").iterdir())


def grid_size(path: Path) -> tuple[int, int]:
    """(columns, rows) of a grid of 28x28 images with torchvision's 2-pixel padding."""
    width, height = PIL.Image.open(path).size
    return (width - 2) // 30, (height - 2) // 30


def test_attr_sets_an_attribute_and_says_which_take_the_median(run, cli, tmp_path) -> None:
    target = tmp_path / "seven.png"
    code, out, err = cli("sample", run, "--label", "7", "--attr", "thickness=3", "-n", "4", "-o", target)
    assert code == 0, err
    assert grid_size(target) == (2, 2)
    assert "slant at the training median" in out


def test_a_value_outside_the_training_range_warns_and_still_samples(run, cli, tmp_path) -> None:
    target = tmp_path / "thick.png"
    code, out, err = cli("sample", run, "--label", "1", "--attr", "thickness=30", "-n", "1", "-o", target)
    assert code == 0, err
    assert "thickness=30 px is outside the training range" in out and target.is_file()


def test_sweep_columns_share_each_rows_latent(run, cli, tmp_path) -> None:
    target = tmp_path / "sweep.png"
    code, out, err = cli("sample", run, "--label", "2", "--label", "5", "--sweep", "thickness=1.5:5:4", "-o", target)
    assert code == 0, err
    assert grid_size(target) == (4, 2)  # columns: 4 swept values; rows: the two labels
    # the same grid built by hand: every column drawn with the same seed, so every row keeps one z along it
    loaded = load_run(run)
    columns = []
    for value in torch.linspace(1.5, 5, 4, dtype=torch.float64).tolist():
        torch.manual_seed(0)
        columns.append(loaded.model.sample(conditions_for(loaded.dataset, ConditionRequest(labels=(2, 5), attributes={"thickness": value})).conditions))
    expected = tmp_path / "expected.png"
    save_grid(torch.stack(columns, 1).flatten(0, 1), expected, 4)
    assert target.read_bytes() == expected.read_bytes()


def test_sweep_without_labels_has_a_row_per_class(run, cli, tmp_path) -> None:
    target = tmp_path / "all.png"
    assert cli("sample", run, "--sweep", "slant=-0.4:0.4:3", "-o", target)[0] == 0
    assert grid_size(target) == (3, 10)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--attr", "thickness=abc"], "--attr thickness=abc: VALUE must be a number, got 'abc'"),
        (["--attr", "thickness"], "is not NAME=VALUE"),
        (["--attr", "thickness=inf"], "must be a finite number"),
        (["--attr", "thickness=2", "--attr", "thickness=3"], "--attr thickness is given twice"),
        (["--attr", "colour=3"], "no attribute 'colour'; its attributes: thickness, slant"),
        (["--sweep", "thickness=1:5:65"], "STEPS must be 2 to 64, got 65"),
        (["--sweep", "thickness=1:5:1"], "STEPS must be 2 to 64, got 1"),
        (["--sweep", "thickness=5:1:4"], "LO must be below HI"),
        (["--sweep", "thickness=1:x:4"], "HI must be a number"),
        (["--sweep", "thickness=1:5"], "is not NAME=LO:HI:STEPS"),
        (["--sweep", "width=1:5:4"], "no attribute 'width'"),
        (["--sweep", "slant=0:1:4", "--attr", "slant=0.2"], "both set slant"),
    ],
)
def test_bad_attr_or_sweep_exits_2_with_a_message(run, cli, tmp_path, args, message) -> None:
    target = tmp_path / "bad.png"
    code, out, err = cli("sample", run, *args, "-o", target)
    assert code == 2 and message in err
    assert "Traceback" not in out + err and not target.exists()


def test_attr_on_a_run_without_attributes_exits_2(tiny_recipe, cli, tmp_path) -> None:
    assert cli("run", tiny_recipe)[0] == 0
    plain = next((tmp_path / "runs").iterdir())
    code, out, err = cli("sample", plain, "--attr", "thickness=3", "-o", tmp_path / "x.png")
    assert code == 2 and "has no attributes to set (thickness)" in err
