"""A run folder is data: opening it (sample, eval, inpaint, run --resume) checks the checkpoint and the recipe
before anything is imported, and imports a module its recipe names only when the user allows it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml

from condgen.engine.checkpoint import CHECKSUM_KEY, load_checkpoint, save_checkpoint


def recipe_digest(recipe: dict) -> str:
    """The recipe hash a checkpoint records, computed as an attacker would: it is no secret."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()

PAYLOAD = """\
from pathlib import Path
Path({marker!r}).write_text("the run folder's code ran")
"""

OPENERS = [
    ("sample", "-n", "1"),
    ("eval", "--k", "2", "--per-class", "2", "--particles", "1"),
    ("inpaint", "--count", "1"),
    ("run", "--resume"),
]
IDS = ["sample", "eval", "inpaint", "resume"]


def plant(run: Path, marker: Path) -> dict:
    """What an attacker adds to a copied run: helper.py beside it, named in recipe.yaml's plugins."""
    (run / "helper.py").write_text(PAYLOAD.format(marker=str(marker)))
    data = yaml.safe_load((run / "recipe.yaml").read_text())
    data["plugins"] = [str((run / "helper.py").resolve())]  # as condgen saves a recipe's .py plugins
    (run / "recipe.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def open_with(cli, opener: tuple[str, ...], run: Path, *extra: str):
    if opener[0] == "run":
        return cli("run", "--resume", run, *extra)
    return cli(opener[0], run, *opener[1:], *extra)


@pytest.mark.parametrize("opener", OPENERS, ids=IDS)
def test_a_module_named_by_an_edited_recipe_is_never_imported(run_copy, tmp_path, cli, opener) -> None:
    marker = tmp_path / "ran"
    plant(run_copy, marker)
    code, _, err = open_with(cli, opener, run_copy)
    assert code == 2 and "Traceback" not in err
    assert not marker.exists()  # refused before the import, not after it


def rewrite_checkpoint(run: Path, recipe: dict, *, checksum: bool) -> None:
    """A forged checkpoint: the recipe and its digest replaced (with a fresh checksum, or none)."""
    path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    state.update(recipe=recipe, recipe_digest=recipe_digest(recipe))
    state.pop(CHECKSUM_KEY)
    if checksum:
        save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    else:
        torch.save(state, path)


@pytest.mark.parametrize("opener", OPENERS, ids=IDS)
def test_a_forged_checkpoint_without_a_checksum_is_refused_before_any_import(run_copy, tmp_path, cli, opener):
    marker = tmp_path / "ran"
    rewrite_checkpoint(run_copy, plant(run_copy, marker), checksum=False)
    code, _, err = open_with(cli, opener, run_copy)
    assert code == 2 and "no checksum" in err
    assert not marker.exists()


@pytest.mark.parametrize("opener", OPENERS, ids=IDS)
def test_a_consistent_forgery_is_refused_naming_the_module_and_the_flag(run_copy, tmp_path, cli, opener) -> None:
    """Checksum, digest and recipe all agree (anyone can compute them): the plugins key still imports nothing."""
    marker = tmp_path / "ran"
    rewrite_checkpoint(run_copy, plant(run_copy, marker), checksum=True)
    code, _, err = open_with(cli, opener, run_copy)
    assert code == 2 and "helper.py'" in err and "--allow-plugins" in err
    assert not marker.exists()


def test_allow_plugins_imports_the_run_folders_module(run_copy, tmp_path, cli) -> None:
    """The refusal above is what stops the code: with the flag, the same folder runs it."""
    marker = tmp_path / "ran"
    rewrite_checkpoint(run_copy, plant(run_copy, marker), checksum=True)
    code, _, err = cli("sample", run_copy, "-n", "1", "--allow-plugins")
    assert code == 0, err
    assert marker.read_text() == "the run folder's code ran"


def test_validate_and_run_say_which_local_plugin_modules_they_imported(tiny_recipe, tmp_path, cli) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "helper.py").write_text(PAYLOAD.format(marker=str(marker)))
    tiny_recipe.write_text(tiny_recipe.read_text() + "plugins: [helper.py]\n")
    for command in (("validate",), ("run", "trainer.epochs=1")):
        code, _, err = cli(command[0], tiny_recipe, *command[1:])
        assert code == 0, err
        assert err.count("Imported plugin module helper.py") == 1
    assert marker.exists()


def test_an_installed_plugin_named_by_the_recipe_needs_no_flag(run_copy, cli) -> None:
    """Installed plugins are code the user chose; only modules that come with the run folder need the flag."""
    data = yaml.safe_load((run_copy / "recipe.yaml").read_text())
    data["plugins"] = ["condgen_mlp"]
    (run_copy / "recipe.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    rewrite_checkpoint(run_copy, data, checksum=True)
    code, _, err = cli("sample", run_copy, "-n", "1")
    assert code == 0, err
