"""Validating a recipe against the schema and the registered plugins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from condgen.errors import RecipeError
from condgen.recipe import load_recipe
from condgen.recipe.resolve import resolve
from condgen.recipe.yaml_lines import SourceMap

# Block style, so every key has its own line.
RECIPE = """\
name: lines
data:
  name: mnist
  root: {root}
  download: false
model:
  conditioner:
    name: concat
  encoder:
    name: mlp
    hidden: [16]
    latent_dim: 3
  decoder:
    name: mlp
    hidden: [16]
trainer:
  epochs: 1
output:
  dir: {out}
"""


@pytest.fixture
def recipe(tmp_path, tiny_mnist) -> Path:
    path = tmp_path / "lines.yaml"
    path.write_text(RECIPE.format(root=tiny_mnist, out=tmp_path / "runs"))
    return path


def problems(path: Path, *overrides: str) -> str:
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, list(overrides))
    return caught.value.message


def test_resolved_recipe_fills_every_default(recipe) -> None:
    resolved = load_recipe(recipe)
    data = resolved.to_dict()
    assert data["seed"] == 0 and data["plugins"] == []
    assert data["model"]["prior"] == {"name": "standard_normal"}
    assert data["model"]["encoder"] == {"name": "mlp", "hidden": [16], "latent_dim": 3, "activation": "relu"}
    assert data["model"]["decoder"]["likelihood"] == "bernoulli"
    assert data["data"]["limit"] is None
    assert data["trainer"]["batch_size"] == 50
    assert data["trainer"]["optimizer"] == {
        "name": "adam", "lr": 0.001, "weight_decay": 0.0, "betas": [0.9, 0.999], "momentum": 0.0, "fused": True
    }
    assert resolved.part("model", "encoder").config.latent_dim == 3


def test_saved_resolved_recipe_loads_again_to_the_same_recipe(recipe, tmp_path) -> None:
    resolved = load_recipe(recipe, ["trainer.epochs=4"])
    saved = tmp_path / "elsewhere" / "recipe.yaml"
    saved.parent.mkdir()
    saved.write_text(resolved.to_yaml())
    again = load_recipe(saved)
    assert again.to_dict() == resolved.to_dict()
    assert again.digest() == resolved.digest()
    assert again.recipe.trainer.epochs == 4


def test_digest_tracks_content_not_formatting(recipe, tmp_path) -> None:
    base = load_recipe(recipe).digest()
    assert load_recipe(recipe, ["trainer.epochs=2"]).digest() != base
    # Writing a default explicitly does not change what the run uses.
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text(recipe.read_text() + "seed: 0\n")
    assert load_recipe(explicit).digest() == base


def test_unknown_component_name_lists_candidates_with_its_line(recipe) -> None:
    message = problems(recipe, "model.encoder.name=mpl")
    assert "override 'model.encoder.name=mpl'" in message
    assert "Did you mean 'mlp'?" in message
    assert re.search(r"Registered encoders: [^.\n]*\bmlp\b", message)
    recipe.write_text(recipe.read_text().replace("name: concat", "name: concatenate"))
    message = problems(recipe)
    assert f"{recipe}:8: model.conditioner.name: Unknown conditioner 'concatenate'" in message
    assert "Did you mean 'concat'?" in message


def test_wrong_option_type_names_file_line_and_key(recipe) -> None:
    recipe.write_text(recipe.read_text().replace("latent_dim: 3", "latent_dim: three"))
    message = problems(recipe)
    assert f"{recipe}:12: model.encoder.latent_dim:" in message
    assert "valid integer" in message and "'three'" in message


def test_unknown_component_option_suggests_the_closest(recipe) -> None:
    recipe.write_text(recipe.read_text().replace("hidden: [16]\n    latent_dim", "hiden: [16]\n    latent_dim"))
    message = problems(recipe)
    assert f"{recipe}:11: model.encoder.hiden: unknown key (did you mean 'hidden'?)" in message
    assert "allowed keys: hidden, latent_dim, activation" in message


def test_unknown_section_key_suggests_the_closest(recipe) -> None:
    recipe.write_text(recipe.read_text().replace("  epochs: 1", "  epoch: 1"))
    message = problems(recipe)
    assert f"{recipe}:17: trainer.epoch: unknown key (did you mean 'epochs'?)" in message
    recipe.write_text(recipe.read_text().replace("trainer:", "trainr:"))
    assert "trainr: unknown key (did you mean 'trainer'?)" in problems(recipe)


def test_every_component_problem_is_reported_at_once(recipe) -> None:
    message = problems(recipe, "model.decoder.name=nope", "model.encoder.activation=swish", "data.limit=0")
    assert message.startswith(f"Recipe {recipe} has 3 problems:")
    assert "model.decoder.name: Unknown decoder 'nope'" in message
    assert "model.encoder.activation:" in message and "'swish'" in message
    assert "data.limit:" in message and "greater than 0" in message


def test_missing_required_sections_are_named(tmp_path) -> None:
    path = tmp_path / "bare.yaml"
    path.write_text("name: bare\n")
    message = problems(path)
    assert "data: required key is missing" in message
    assert "model: required key is missing" in message


def test_recipe_must_be_a_mapping(tmp_path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- name: x\n")
    assert "must be a mapping of sections, got list" in problems(path)


@pytest.mark.parametrize("bad", ["has space", "../escape", ""])
def test_run_names_are_safe_folder_names(recipe, bad) -> None:
    assert "name:" in problems(recipe, f"name={bad}")


def test_resolve_from_data_without_a_file() -> None:
    data = {
        "name": "inline",
        "data": {"name": "mnist", "download": False},
        "model": {"conditioner": {"name": "concat"}, "encoder": {"name": "mlp"}, "decoder": {"name": "mlp"}},
    }
    resolved = resolve(data, SourceMap("<inline>"))
    assert resolved.source is None and resolved.base_dir is None
    assert resolved.part("data").config.download is False


def test_relative_plugin_file_is_saved_as_an_absolute_path(recipe, tmp_path) -> None:
    (tmp_path / "extra.py").write_text("")
    recipe.write_text(recipe.read_text() + "plugins: [extra.py, condgen_priors]\n")
    saved = yaml.safe_load(load_recipe(recipe).to_yaml())
    assert saved["plugins"] == [str((tmp_path / "extra.py").resolve()), "condgen_priors"]
