"""Every value that validates must train: every numeric option of every built-in component and recipe section
is bounded on both sides, and the values that used to crash ``condgen run`` are refused by ``condgen validate``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from condgen.plugins import load_plugins
from condgen.recipe.schema import Recipe


def unbounded_numbers(schema: Any, where: str = "") -> list[str]:
    """Paths in a JSON schema to integer or number types that lack a lower or an upper bound."""
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") in ("integer", "number") and "enum" not in schema and "const" not in schema:
            low = "minimum" in schema or "exclusiveMinimum" in schema
            high = "maximum" in schema or "exclusiveMaximum" in schema
            if not (low and high):
                found.append(where or "(root)")
        for key, value in schema.items():
            found += unbounded_numbers(value, f"{where}.{key}" if where else key)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += unbounded_numbers(value, f"{where}[{index}]")
    return found


def test_every_numeric_option_of_every_builtin_config_is_bounded_on_both_sides() -> None:
    plugins = load_plugins()
    configs = {"recipe": Recipe}
    for component in plugins.registry.components():
        if component.source.distribution in ("condgen", "condgen-film"):
            configs[f"{component.kind} {component.name}"] = component.config
    assert len(configs) > 10  # the built-ins really were found
    unbounded = {name: unbounded_numbers(model.model_json_schema()) for name, model in configs.items()}
    assert {name: paths for name, paths in unbounded.items() if paths} == {}


def set_key(recipe_path, dotted: str, value: Any):
    data = yaml.safe_load(recipe_path.read_text())
    node = data
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    recipe_path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    "key, value",
    [
        ("model.encoder.hidden", [10**9]),
        ("model.encoder.hidden", [-5]),
        ("model.decoder.hidden", [0]),
        ("model.encoder.latent_dim", 10**9),
        ("trainer.optimizer.betas", [2, 2]),
        ("trainer.optimizer.lr", 0),
        ("trainer.optimizer.lr", float("inf")),
        ("trainer.optimizer.momentum", 1.0),
        ("trainer.threads", 10**11),
        ("trainer.samples_per_row", 10**8),
        ("trainer.kl_weight", float("nan")),
        ("seed", 2**64),
        ("output.dir", "runs/a\0b"),
        ("output.dir", "runs/" + "x" * 300),
        ("data.root", "data/\0"),
        ("data.root", "/tmp/" + "y" * 256 + "/data"),
    ],
)
def test_a_value_run_could_not_train_is_refused_by_validate(tiny_recipe, cli, key, value) -> None:
    set_key(tiny_recipe, key, value)
    code, _, err = cli("validate", tiny_recipe)
    assert code == 2, err
    assert key in err and "Traceback" not in err


@pytest.mark.slow
def test_a_run_with_the_largest_valid_values_trains(tiny_recipe, cli) -> None:
    """The bounds are honest from the other side too: the largest accepted sample grid and betas train."""
    set_key(tiny_recipe, "trainer.samples_per_row", 256)
    set_key(tiny_recipe, "trainer.optimizer.betas", [0.0, 0.999999])
    code, _, err = cli("run", tiny_recipe, "trainer.epochs=1", "trainer.threads=1")
    assert code == 0, err
