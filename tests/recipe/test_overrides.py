"""KEY=VALUE overrides: parsed as YAML, typed by the schema, errors name the override."""

from __future__ import annotations

import pytest

from condgen.errors import RecipeError
from condgen.recipe import load_recipe
from condgen.recipe.overrides import apply_overrides, parse_override


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("trainer.epochs=5", ("trainer", "epochs"), 5),
        ("model.encoder.hidden=[256,256]", ("model", "encoder", "hidden"), [256, 256]),
        ("trainer.optimizer={name: sgd, lr: 0.1}", ("trainer", "optimizer"), {"name": "sgd", "lr": 0.1}),
        ("data.download=false", ("data", "download"), False),
        ("name=run=2", ("name",), "run=2"),  # only the first '=' splits
        ("data.root=", ("data", "root"), ""),
    ],
)
def test_values_are_read_as_yaml(text, path, value) -> None:
    assert parse_override(text) == (path, value)


def test_overrides_set_nested_keys_and_create_sections() -> None:
    data = {"trainer": {"epochs": 20}, "model": {"encoder": {"name": "mlp"}}}
    origins = apply_overrides(data, ["trainer.epochs=5", "output.dir=/tmp/x", "model.encoder.hidden=[8]"])
    assert data == {
        "trainer": {"epochs": 5},
        "model": {"encoder": {"name": "mlp", "hidden": [8]}},
        "output": {"dir": "/tmp/x"},
    }
    assert origins[("trainer", "epochs")] == "trainer.epochs=5"


def test_later_override_wins() -> None:
    data: dict = {}
    apply_overrides(data, ["trainer.epochs=1", "trainer.epochs=3"])
    assert data == {"trainer": {"epochs": 3}}


def test_overrides_are_typed_by_the_schema(tiny_recipe) -> None:
    resolved = load_recipe(
        tiny_recipe,
        ["trainer.epochs=5", "model.encoder.hidden=[256,256]", "trainer.optimizer.lr=1e-3", "seed='7'"],
    )
    assert resolved.recipe.trainer.epochs == 5
    encoder = resolved.part("model", "encoder").config
    assert encoder.hidden == [256, 256] and all(type(h) is int for h in encoder.hidden)
    # YAML reads 1e-3 as a string; the schema makes it the float the user meant.
    assert resolved.recipe.trainer.optimizer.lr == pytest.approx(0.001)
    assert isinstance(resolved.recipe.trainer.optimizer.lr, float)
    assert resolved.recipe.seed == 7


def test_overrides_do_not_touch_the_file(tiny_recipe) -> None:
    before = tiny_recipe.read_text()
    load_recipe(tiny_recipe, ["trainer.epochs=9"])
    assert tiny_recipe.read_text() == before
    assert load_recipe(tiny_recipe).recipe.trainer.epochs == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trainer.epochs", "Override 'trainer.epochs' is not of the form key.path=value."),
        ("bad key=3", "Override 'bad key=3' is not of the form key.path=value."),
        ("trainer..epochs=3", "Override 'trainer..epochs=3' is not of the form"),
        ("trainer.epochs=[1", "Override 'trainer.epochs=[1': the value '[1' is not valid YAML."),
        ("name.first=x", "Override 'name.first=x': name is a value, not a section with keys."),
    ],
)
def test_malformed_overrides_name_the_override(tiny_recipe, text, expected) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe(tiny_recipe, [text])
    assert expected in caught.value.message


def test_override_with_a_wrong_type_names_the_override_not_the_file(tiny_recipe) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe(tiny_recipe, ["trainer.epochs=five"])
    message = caught.value.message
    assert "override 'trainer.epochs=five': trainer.epochs:" in message
    assert "valid integer" in message
    assert f"{tiny_recipe}:" not in message
    # Component options (checked against the plugin's config) too.
    with pytest.raises(RecipeError) as caught:
        load_recipe(tiny_recipe, ["model.encoder.latent_dim=-1"])
    assert "override 'model.encoder.latent_dim=-1': model.encoder.latent_dim:" in caught.value.message
    assert "greater than or equal to 1" in caught.value.message


def test_override_of_an_unknown_key_suggests_the_closest(tiny_recipe) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe(tiny_recipe, ["trainer.batchsize=10"])
    assert "override 'trainer.batchsize=10': trainer.batchsize: unknown key (did you mean 'batch_size'?)" in (
        caught.value.message
    )


def test_a_misspelt_first_key_of_an_override_is_blamed_on_the_override(tiny_recipe) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe(tiny_recipe, ["traner.epochs=1"])
    message = caught.value.message
    assert "override 'traner.epochs=1': traner: unknown key (did you mean 'trainer'?)" in message
    assert f"{tiny_recipe}:" not in message  # the file has no such key
    with pytest.raises(RecipeError) as caught:
        load_recipe(tiny_recipe, ["model.encodr.hidden=[4]"])
    assert "override 'model.encodr.hidden=[4]': model.encodr: unknown key (did you mean 'encoder'?)" in (
        caught.value.message
    )


@pytest.mark.parametrize(
    ("name", "keys"),
    [("epochs", ["trainer.epochs"]), ("lr", ["trainer.optimizer.lr"]), ("seed", ["seed"]), ("hidden", [])],
)
def test_keys_named_finds_the_recipe_keys_an_option_spelling_means(name, keys) -> None:
    from condgen.recipe.overrides import keys_named

    assert keys_named(name) == keys  # component options (hidden) belong to plugins, not the recipe schema
