"""``condgen validate``: check a recipe without training, optionally show it resolved."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml


def test_valid_recipe_is_reported_and_nothing_is_trained(tiny_recipe, cli) -> None:
    code, out, err = cli("validate", tiny_recipe)
    assert code == 0, err
    assert out.strip() == f"{tiny_recipe} is valid."
    assert not (tiny_recipe.parent / "runs").exists()


def test_show_prints_the_resolved_recipe_with_defaults_and_overrides(tiny_recipe, cli) -> None:
    code, out, err = cli("validate", tiny_recipe, "trainer.epochs=7", "model.encoder.hidden=[8,4]", "--show")
    assert code == 0, err
    first, _, rest = out.partition("\n")
    assert first == f"{tiny_recipe} is valid."
    shown = yaml.safe_load(rest)
    assert shown["trainer"]["epochs"] == 7
    assert shown["model"]["encoder"] == {"name": "mlp", "hidden": [8, 4], "latent_dim": 2, "activation": "relu"}
    assert shown["trainer"]["eval_batch_size"] == 1000  # a default the file does not write
    assert shown["model"]["decoder"]["likelihood"] == "bernoulli"
    assert shown["data"]["download"] is False


def test_shown_recipe_is_itself_a_valid_recipe(tiny_recipe, cli, tmp_path) -> None:
    _, out, _ = cli("validate", tiny_recipe, "--show")
    again = tmp_path / "again.yaml"
    again.write_text(out.partition("\n")[2])
    code, out2, err = cli("validate", again, "--show")
    assert code == 0, err
    assert yaml.safe_load(out2.partition("\n")[2]) == yaml.safe_load(out.partition("\n")[2])


def test_invalid_recipe_lists_every_problem_with_lines(tiny_recipe, cli) -> None:
    code, out, err = cli("validate", tiny_recipe, "model.encoder.name=mpl", "model.decoder.likelihood=gauss")
    assert code == 2
    assert "has 2 problems" in err
    assert "override 'model.encoder.name=mpl'" in err and "Did you mean 'mlp'?" in err
    assert "override 'model.decoder.likelihood=gauss'" in err and "'bernoulli'" in err
    assert "Traceback" not in out + err


def test_validate_needs_a_recipe(cli) -> None:
    code, out, err = cli("validate")
    assert code == 2
    assert "Missing argument" in err


def test_module_entry_point_help() -> None:
    done = subprocess.run([sys.executable, "-m", "condgen", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("run", "validate", "plugins", "sample"):
        assert command in done.stdout
    assert "Usage:" in done.stdout


def test_version_option(cli) -> None:
    code, out, err = cli("--version")
    assert code == 0
    assert "0.1.0" in out


@pytest.mark.parametrize("path", ["recipes/" + "r" * 300 + ".yaml", "a\0b.yaml"], ids=["long-name", "nul"])
def test_a_recipe_path_no_filesystem_can_hold_exits_2(cli, path) -> None:
    for command in ("validate", "run"):
        code, _, err = cli(command, path)
        assert code == 2 and "cannot be used" in err and "Traceback" not in err


def test_show_prints_a_recipe_that_extends_another_merged_and_without_extends(tiny_recipe, cli) -> None:
    child = tiny_recipe.parent / "child.yaml"
    child.write_text("extends: tiny.yaml\nname: child\nmodel:\n  encoder: {latent_dim: 5}\n")
    code, out, err = cli("validate", child, "--show")
    assert code == 0, err
    shown = yaml.safe_load(out.partition("\n")[2])
    assert "extends" not in shown
    assert shown["name"] == "child"
    assert shown["model"]["encoder"] == {"name": "mlp", "hidden": [32], "latent_dim": 5, "activation": "relu"}
    assert shown["trainer"]["batch_size"] == 20  # from tiny.yaml
