"""The ``inpainting`` dataset: Pyro's quadrant layouts, seeded test masks, conditions built per batch,
a likelihood on the unobserved pixels only and observed pixels pasted back, over any image dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import distributions as D

import condgen
from condgen import MaskedDataset
from condgen.compose import build_model
from condgen.recipe import load_recipe
from condgen.testing import check_component
from condgen_inpainting import InpaintingConfig, Pixels, Quadrants, Rectangle
from condgen_inpainting.dataset import Inpainting, MaskedSplit

from helpers import installed_context


def inpainting(root: Path, **options) -> Inpainting:
    config = InpaintingConfig.model_validate({"base": {"name": "mnist", "root": str(root), "download": False}, **options})
    return Inpainting(config, installed_context())


def layout(rows: list[str]) -> torch.Tensor:
    """A mask from a picture: ``#`` observed, ``.`` hidden."""
    return torch.tensor([[char == "#" for char in row] for row in rows])


@pytest.mark.parametrize(
    "observed, picture",
    [
        (1, ["....", "....", "##..", "##.."]),  # bottom-left
        (2, ["##..", "##..", "##..", "##.."]),  # left half
        (3, ["####", "####", "##..", "##.."]),  # all but bottom-right
    ],
)
def test_quadrants_are_pyros_layouts(observed: int, picture: list[str]) -> None:
    masks = Quadrants(observed=observed).sample(3, 4, 4, None)
    assert masks.shape == (3, 1, 4, 4) and masks.dtype == torch.bool
    assert torch.equal(masks[2, 0], layout(picture))


def test_quadrants_on_28x28_split_at_14() -> None:
    mask = Quadrants(observed=1).sample(1, 28, 28, None)[0, 0]
    expected = torch.zeros(28, 28, dtype=torch.bool)
    expected[14:, :14] = True
    assert torch.equal(mask, expected)
    assert int(Quadrants(observed=3).sample(1, 28, 28, None).sum()) == 3 * 14 * 14


def test_the_condition_is_the_observed_image_then_the_mask(tiny_mnist: Path) -> None:
    dataset = inpainting(tiny_mnist, fill=-1)
    assert isinstance(dataset, MaskedDataset)
    assert dataset.x_shape == (1, 28, 28) and dataset.condition_shape == (2, 28, 28)
    x, condition = dataset.load("test").batch(torch.arange(5))
    base_x, _ = dataset.base.load("test").batch(torch.arange(5))
    assert torch.equal(x, base_x)
    observed = torch.zeros(28, 28, dtype=torch.bool)
    observed[14:, :14] = True
    assert torch.equal(condition[:, 1], observed.float().expand(5, 28, 28))
    assert torch.equal(condition[:, 0][:, observed], x[:, 0][:, observed])
    assert (condition[:, 0][:, ~observed] == -1).all()


@pytest.mark.parametrize("mask", [{"name": "rectangle"}, {"name": "pixels", "observed": 0.3}])
def test_test_masks_are_seeded_per_example(tiny_mnist: Path, mask: dict) -> None:
    dataset = inpainting(tiny_mnist, mask=mask)
    test = dataset.load("test")
    torch.manual_seed(0)
    _, first = test.batch(torch.tensor([5, 3, 9]))
    torch.manual_seed(1)  # the global RNG plays no part
    _, again = test.batch(torch.tensor([9, 5]))
    assert torch.equal(first[[2, 0]], again)
    _, rebuilt = inpainting(tiny_mnist, mask=mask).load("test").batch(torch.tensor([3]))
    assert torch.equal(rebuilt, first[1:2])
    assert not torch.equal(first[0, 1], first[1, 1])  # each example has its own mask
    _, reseeded = inpainting(tiny_mnist, mask=mask, test_seed=1).load("test").batch(torch.tensor([5, 3, 9]))
    assert not torch.equal(reseeded, first)


def test_training_masks_are_drawn_per_batch_from_the_global_rng(tiny_mnist: Path) -> None:
    train = inpainting(tiny_mnist, mask={"name": "pixels"}).load("train")
    index = torch.arange(8)
    torch.manual_seed(0)
    _, a = train.batch(index)
    _, b = train.batch(index)
    assert not torch.equal(a, b)
    torch.manual_seed(0)
    assert torch.equal(train.batch(index)[1], a)


def test_random_masks_always_leave_something_observed_and_something_to_predict() -> None:
    generator = torch.Generator().manual_seed(0)
    pixels = Pixels(observed=0.25).sample(50, 28, 28, generator)
    assert (pixels.flatten(1).sum(1) == 196).all()
    for low, high in ((0.04, 0.05), (0.25, 0.75), (0.9, 0.99)):
        masks = Rectangle(min_size=low, max_size=high).sample(200, 28, 28, generator)
        hidden = (~masks).flatten(1).sum(1)
        assert (hidden >= 1).all() and (hidden < 28 * 28).all()
        rows, cols = (~masks[:, 0]).any(2).sum(1), (~masks[:, 0]).any(1).sum(1)
        assert torch.equal(hidden, rows * cols)  # one axis-aligned rectangle
        assert rows.max() <= 27 and cols.max() <= 27
    with pytest.raises(ValueError, match="larger than max_size"):
        Rectangle(min_size=0.6, max_size=0.5)


def _tensors(value: object) -> list[torch.Tensor]:
    return [item for item in vars(value).values() if isinstance(item, torch.Tensor)]


def test_no_second_copy_of_the_data_is_held(tiny_mnist: Path) -> None:
    dataset = inpainting(tiny_mnist)
    train = dataset.load("train")
    base = dataset.base.load("train")
    assert isinstance(train, MaskedSplit) and train.base is base
    assert _tensors(train) == [] and _tensors(dataset) == []  # conditions are computed per batch
    assert dataset.load("train") is train
    x, condition = train.batch(torch.arange(3))
    assert x.shape == (3, 1, 28, 28) and condition.shape == (3, 2, 28, 28)
    assert torch.equal(train.labels, base.labels)


def test_any_image_dataset_can_be_the_base_and_a_vector_one_is_refused(make_distribution, tmp_path) -> None:
    make_distribution("condgen-squares", "condgen_squares", SQUARES)
    dataset = installed_context().build(
        condgen_config(base={"name": "squares", "channels": 3}, mask={"name": "pixels", "observed": 0.5})
    )
    assert dataset.x_shape == (3, 8, 8) and dataset.condition_shape == (4, 8, 8)
    x, condition = dataset.load("test").batch(torch.arange(4))
    observed = condition[:, 3:] > 0.5
    assert torch.equal(torch.where(observed, condition[:, :3], x), x)
    assert (condition[:, :3][~observed.expand_as(x)] == -1).all()
    report = check_component("dataset", "inpainting", {"base": {"name": "squares", "channels": 3}})
    assert report.loss_after < report.loss_before
    with pytest.raises(condgen.PluginError, match=r"needs images.*\(12,\)"):
        installed_context().build(condgen_config(base={"name": "squares", "flat": True}))


def condgen_config(**options) -> condgen.ComponentBlock:
    """An ``inpainting`` block, validated the way a recipe's nested blocks are."""
    from typing import Annotated

    class Holder(condgen.ComponentConfig):
        data: Annotated[condgen.ComponentBlock, condgen.BlockKind("dataset")]

    return Holder.model_validate({"data": {"name": "inpainting", **options}}).data


SQUARES = '''
import torch, condgen

class SquaresConfig(condgen.ComponentConfig):
    channels: int = 1
    flat: bool = False

class Squares:
    def __init__(self, config, context):
        self.x_shape = (4 * 3,) if config.flat else (config.channels, 8, 8)
        self.condition_shape = (2,)

    def load(self, split):
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        x = torch.rand(64, *self.x_shape, generator=g).round()
        return condgen.TensorSplit(x, torch.zeros(64, 2))

    def preview_conditions(self, per_row):
        return torch.zeros(per_row, 2)

@condgen.hookimpl
def register_components(register):
    register("dataset", "squares", Squares, SquaresConfig)
'''


def test_the_inpainting_dataset_passes_the_plugin_test_kit(tiny_mnist: Path) -> None:
    report = check_component(
        "dataset", "inpainting", {"base": {"name": "mnist", "root": str(tiny_mnist), "download": False}}, steps=20
    )
    assert report.loss_after < report.loss_before


RECIPE = """\
name: masked
seed: 0
data: {{name: inpainting, base: {{name: mnist, root: {root}, download: false}}, likelihood: {likelihood}}}
model:
  conditioner: {{name: concat}}
  encoder: {{name: mlp, hidden: [16], latent_dim: 2}}
  decoder: {{name: mlp, hidden: [16]}}
  prior: {{name: conditional, hidden: [16]}}
output: {{dir: {root}}}
"""


def model_for(tmp_path: Path, root: Path, likelihood: str = "unobserved"):
    path = tmp_path / f"{likelihood}.yaml"
    path.write_text(RECIPE.format(root=root, likelihood=likelihood))
    torch.manual_seed(0)
    return build_model(load_recipe(path))


def test_the_likelihood_counts_only_the_unobserved_pixels(tmp_path: Path, tiny_mnist: Path) -> None:
    composed = model_for(tmp_path, tiny_mnist)
    model, test = composed.model, composed.dataset.load("test")
    x, condition = test.batch(torch.arange(6))
    z = torch.randn(6, 2)
    p_x = model.likelihood(z, condition)
    hidden = condition[:, 1:] < 0.5
    per_pixel = D.Bernoulli(logits=p_x.base_dist.logits, validate_args=False).log_prob(x)
    expected = (per_pixel * hidden).flatten(1).sum(1)
    torch.testing.assert_close(model.log_likelihood(p_x, x, condition), expected)
    changed = torch.where(hidden, x, 1 - x)  # other values on the observed pixels only
    torch.testing.assert_close(model.log_likelihood(p_x, changed, condition), expected)
    everything = model_for(tmp_path, tiny_mnist, "all").model
    everything.load_state_dict(model.state_dict())
    torch.testing.assert_close(everything.log_likelihood(p_x, x, condition), p_x.log_prob(x))


def test_generated_images_keep_the_observed_pixels(tmp_path: Path, tiny_mnist: Path) -> None:
    composed = model_for(tmp_path, tiny_mnist)
    x, condition = composed.dataset.load("test").batch(torch.arange(6))
    observed = (condition[:, 1:] > 0.5).expand_as(x)
    for mean in (True, False):
        generated = composed.model.sample(condition, mean=mean)
        assert torch.equal(generated[observed], x[observed])
        assert not torch.equal(generated[~observed], x[~observed])
    preview = composed.dataset.preview_conditions(3)
    assert preview.shape == (30, 2, 28, 28)
    assert torch.equal(preview[0], preview[2]) and not torch.equal(preview[0], preview[3])
