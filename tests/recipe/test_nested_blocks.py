"""Component blocks nested in a component's config (``condgen.ComponentBlock``): validated, saved and built like the recipe's own."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated

import pytest
import torch
import yaml

import condgen
from condgen import BlockKind, ComponentBlock
from condgen.errors import PluginError, RecipeError
from condgen.compose import build_model
from condgen.recipe import load_recipe

from helpers import installed_context

# A third-party-style wrapper of *any* encoder: nothing in the core knows it.
WRAPPER = '''
from typing import Annotated
import condgen
from torch import nn

class WrapConfig(condgen.ComponentConfig):
    inner: Annotated[condgen.ComponentBlock, condgen.BlockKind("encoder")]
    scale: float = 1.0

class Wrap(nn.Module):
    def __init__(self, config, context):
        super().__init__()
        self.inner = context.build(config.inner)
        self.latent_dim = self.inner.latent_dim

    def forward(self, joined, condition):
        return self.inner(joined, condition)

@condgen.hookimpl
def register_components(register):
    register("encoder", "wrap", Wrap, WrapConfig)
'''

RECIPE = """\
name: nested
plugins: [wrapper.py]
data:
  name: inpainting
  base:
    name: mnist
    root: {root}
    download: false
  mask:
    name: quadrants
    observed: 2
model:
  conditioner:
    name: concat
  encoder:
    name: wrap
    inner:
      name: mlp
      hidden: [8]
      latent_dim: 3
  decoder:
    name: mlp
    hidden: [8]
output:
  dir: {out}
"""


@pytest.fixture
def recipe(tmp_path: Path, tiny_mnist: Path) -> Path:
    (tmp_path / "wrapper.py").write_text(WRAPPER)
    path = tmp_path / "nested.yaml"
    path.write_text(RECIPE.format(root=tiny_mnist, out=tmp_path / "runs"))
    return path


def problems(path: Path, *overrides: str) -> list[str]:
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, list(overrides))
    return caught.value.message.splitlines()[1:]


def test_a_nested_option_error_names_the_file_line_and_key(recipe: Path) -> None:
    lines = recipe.read_text().splitlines()
    recipe.write_text("\n".join(line.replace("download: false", "downlaod: false") for line in lines) + "\n")
    (problem,) = problems(recipe)
    line = next(i for i, text in enumerate(lines, 1) if "download" in text)
    assert f"nested.yaml:{line}: data.base.downlaod: unknown key (did you mean 'download'?)" in problem


def test_problems_inside_and_around_a_nested_block_are_reported_together(recipe: Path) -> None:
    found = problems(recipe, "data.mask.observed=4", "data.base.limit=-1", "model.encoder.inner.hiden=[4]")
    assert len(found) == 3
    assert any("data.mask.observed: Input should be 1, 2 or 3" in p for p in found)
    assert any("data.base.limit: Input should be greater than or equal to 1" in p for p in found)
    assert any("model.encoder.inner.hiden: unknown key (did you mean 'hidden'?)" in p for p in found)


def test_an_unknown_nested_name_is_located_and_named_for_its_kind(recipe: Path) -> None:
    (problem,) = problems(recipe, "data.base.name=mnsit")
    assert "data.base.name: Unknown dataset 'mnsit'. Did you mean 'mnist'?" in problem
    (problem,) = problems(recipe, "model.encoder.inner.name=mnist")  # a dataset is no encoder
    assert "model.encoder.inner.name: Unknown encoder 'mnist'" in problem
    (problem,) = problems(recipe, "data.base={root: x}")
    assert "data.base.name: required key is missing" in problem


def test_the_resolved_recipe_fills_nested_defaults_and_round_trips(recipe: Path, tmp_path: Path) -> None:
    resolved = load_recipe(recipe)
    data = resolved.to_dict()
    assert data["data"]["base"] == {"name": "mnist", "root": data["data"]["base"]["root"], "download": False,
                                    "limit": None, "binarize": False}
    assert data["model"]["encoder"]["inner"] == {"name": "mlp", "hidden": [8], "latent_dim": 3, "activation": "relu"}
    saved = tmp_path / "saved.yaml"
    saved.write_text(resolved.to_yaml())
    assert load_recipe(saved).digest() == resolved.digest()


def test_nested_blocks_build_into_the_model(recipe: Path) -> None:
    composed = build_model(load_recipe(recipe))
    assert composed.model.latent_dim == 3
    assert type(composed.model.encoder.inner).__name__ == "MLPEncoder"
    assert composed.dataset.base.x_shape == (1, 28, 28)
    x, condition = composed.dataset.load("train").batch(torch.arange(4))
    assert composed.model.losses(x, condition).loss.isfinite()


class Holder(condgen.ComponentConfig):
    base: Annotated[ComponentBlock, BlockKind("dataset")]


def test_a_config_made_in_python_builds_its_nested_block_through_the_installed_plugins(tiny_mnist: Path) -> None:
    holder = Holder.model_validate({"base": {"name": "mnist", "root": str(tiny_mnist), "download": False}})
    assert holder.base.kind == "dataset"
    dataset = installed_context().build(holder.base)
    assert len(dataset.load("test")) == 100
    bad = Holder.model_validate({"base": {"name": "mnist", "limit": 0}})
    with pytest.raises(RecipeError, match="mnist"):
        installed_context().build(bad.base)


def test_a_block_that_does_not_declare_its_kind_cannot_be_built() -> None:
    with pytest.raises(PluginError, match="BlockKind"):
        installed_context().build(ComponentBlock(name="mnist"))


def test_a_resolved_block_serialises_with_defaults_and_an_unresolved_one_as_written(tiny_mnist: Path) -> None:
    holder = Holder.model_validate({"base": {"name": "mnist", "limit": 5}})
    assert holder.model_dump(mode="json") == {"base": {"name": "mnist", "limit": 5}}
    installed_context().build(holder.base)
    assert yaml.safe_load(yaml.safe_dump(holder.model_dump(mode="json")))["base"]["download"] is True
