"""``condgen run`` and ``validate`` read a recipe setting typed as an option as the override it means."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        (["--epochs", "1"], "trainer.epochs=1"),
        (["--batch-size=5"], "trainer.batch_size=5"),
        (["--lr"], "trainer.optimizer.lr=VALUE"),
    ],
)
@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_recipe_setting_typed_as_an_option_suggests_its_override(tiny_recipe, cli, command, typed, meant) -> None:
    code, out, err = cli(command, tiny_recipe, *typed)
    assert code == 2
    assert f"did you mean {meant}?" in err
    assert "--nproc" not in err and "Traceback" not in err
    assert not (tiny_recipe.parent / "runs").exists()


def test_a_misspelt_real_option_still_gets_clicks_suggestion(tiny_recipe, cli) -> None:
    code, out, err = cli("run", tiny_recipe, "--forse")
    assert code == 2 and "Did you mean '--force'?" in err


@pytest.mark.parametrize("command", ["run", "validate"])
def test_help_names_the_recipe_and_its_overrides(cli, command) -> None:
    code, out, err = cli(command, "--help")
    assert code == 0
    assert f"Usage: condgen {command} [OPTIONS] RECIPE [KEY=VALUE]..." in out
