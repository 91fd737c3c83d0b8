"""Plugin discovery: entry points of installed distributions, autoload switch, recipe-local plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from condgen.errors import PluginError, RecipeError
from condgen.compose import build_model
from condgen.plugins import ALLOW_LIST_ENV, DISABLE_AUTOLOAD_ENV, load_plugins
from condgen.recipe import load_recipe

# A conditional prior p(z | c) = N(W c, 1): it has parameters, so a checkpoint
# proves it was trained as part of the model.
LABEL_PRIOR = """
import torch
from torch import distributions as D, nn
import condgen

class LabelPriorConfig(condgen.ComponentConfig):
    scale: float = 1.0

class LabelPrior(nn.Module):
    def __init__(self, config, context):
        super().__init__()
        self.latent_dim = context.latent_dim
        self.scale = config.scale
        self.loc = nn.Linear(context.condition_shape[0], context.latent_dim)
    def forward(self, condition):
        loc = self.loc(condition)
        return D.Independent(D.Normal(loc, self.scale * torch.ones_like(loc)), 1)

@condgen.hookimpl
def register_components(register):
    register("prior", "label_prior", LabelPrior, LabelPriorConfig)
"""


def only_run(out_dir: Path) -> Path:
    runs = list(out_dir.iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def test_third_party_entry_point_is_discovered_with_its_distribution(make_distribution) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR, version="2.1.0")
    plugins = load_plugins()
    component = plugins.registry.get("prior", "label_prior")
    assert component.source.module == "cg_labelprior"
    assert component.source.distribution == "condgen-labelprior"
    assert component.source.version == "2.1.0"
    # Built-ins come from the condgen distribution itself, through the same mechanism.
    assert plugins.registry.get("dataset", "mnist").source.distribution == "condgen"
    assert not plugins.broken


def test_third_party_prior_trains_from_a_recipe(make_distribution, tiny_recipe, cli) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR)
    code, out, err = cli("run", tiny_recipe, "model.prior={name: label_prior, scale: 0.5}", "trainer.epochs=1")
    assert code == 0, err
    run = only_run(tiny_recipe.parent / "runs")
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["recipe"]["model"]["prior"] == {"name": "label_prior", "scale": 0.5}
    assert state["model"]["prior.loc.weight"].shape == (2, 10)
    # The prior's weights moved away from their (seeded) initialisation: it was trained.
    torch.manual_seed(0)
    initial = build_model(load_recipe(tiny_recipe, ["model.prior.name=label_prior"])).model
    assert not torch.equal(initial.prior.loc.weight, state["model"]["prior.loc.weight"])


def test_disabling_autoload_skips_third_party_but_keeps_builtins(make_distribution, monkeypatch) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR)
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    plugins = load_plugins()
    assert "label_prior" not in plugins.registry.names("prior")
    assert {c.source.distribution for c in plugins.registry.components()} == {"condgen"}
    assert "mnist" in plugins.registry.names("dataset")
    assert "standard_normal" in plugins.registry.names("prior")
    with pytest.raises(PluginError, match="Unknown prior 'label_prior'"):
        plugins.registry.get("prior", "label_prior")


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_autoload_switch_off_values_keep_autoloading(make_distribution, monkeypatch, value) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR)
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, value)
    assert "label_prior" in load_plugins().registry.names("prior")


def test_disabled_autoload_still_allows_the_plugin_named_in_a_recipe(make_distribution, monkeypatch, tiny_recipe) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR)
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    resolved = load_recipe(tiny_recipe, ["plugins=[cg_labelprior]", "model.prior.name=label_prior"])
    assert resolved.part("model", "prior").component.name == "label_prior"


@pytest.mark.parametrize("listed", ["condgen-labelprior", "Condgen_LabelPrior", "cg_labelprior", "other, condgen-labelprior"])
def test_the_allow_list_loads_the_third_party_plugins_it_names(make_distribution, monkeypatch, listed) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR)
    make_distribution("condgen-other-prior", "cg_otherprior", LABEL_PRIOR.replace('"label_prior"', '"other_prior"'))
    monkeypatch.setenv(ALLOW_LIST_ENV, listed)
    names = load_plugins().registry.names("prior")
    assert "label_prior" in names and "other_prior" not in names
    assert {"standard_normal", "conditional"} <= set(names)  # built-ins always load


def test_an_empty_allow_list_loads_no_third_party_plugin_but_a_recipe_still_names_its_own(
    make_distribution, monkeypatch, tiny_recipe
) -> None:
    make_distribution("condgen-labelprior", "cg_labelprior", LABEL_PRIOR)
    monkeypatch.setenv(ALLOW_LIST_ENV, "")
    assert {c.source.distribution for c in load_plugins().registry.components()} == {"condgen"}
    resolved = load_recipe(tiny_recipe, ["plugins=[cg_labelprior]", "model.prior.name=label_prior"])
    assert resolved.part("model", "prior").component.name == "label_prior"


def test_plugins_are_scanned_once_and_a_recipes_own_never_reach_the_shared_object(tmp_path, tiny_recipe) -> None:
    assert load_plugins() is load_plugins()
    write_local_plugin(tmp_path, "mine.py", "mine_prior")
    resolved = load_recipe(tiny_recipe, ["plugins=[" + str(tmp_path / "mine.py") + "]", "model.prior.name=mine_prior"])
    assert "mine_prior" in resolved.plugins.registry.names("prior")
    assert "mine_prior" not in load_plugins().registry.names("prior")


def write_local_plugin(folder: Path, filename: str, prior_name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    source = LABEL_PRIOR.replace('"label_prior"', repr(prior_name))
    (folder / filename).write_text(textwrap.dedent(source))


def test_recipe_plugins_list_loads_a_py_file_relative_to_the_recipe(tmp_path, tiny_recipe, cli, monkeypatch) -> None:
    folder = tmp_path / "project"
    write_local_plugin(folder / "plugins", "my_prior.py", "local_prior")
    recipe = folder / "recipe.yaml"
    recipe.write_text(tiny_recipe.read_text() + "plugins: [plugins/my_prior.py]\n")
    monkeypatch.chdir(tmp_path)  # relative to the recipe, not to the working directory

    code, out, err = cli("run", recipe, "model.prior.name=local_prior", "trainer.epochs=1")
    assert code == 0, err
    run = only_run(tiny_recipe.parent / "runs")
    assert "prior.loc.weight" in torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]

    # The run folder's recipe names the plugin so that it still loads from there, once the user allows it.
    code, out, err = cli("sample", run, "--label", "3", "-n", "4", "-o", tmp_path / "three.png")
    assert code == 2 and "my_prior.py" in err and "--allow-plugins" in err
    code, out, err = cli("sample", run, "--label", "3", "-n", "4", "-o", tmp_path / "three.png", "--allow-plugins")
    assert code == 0, err
    assert (tmp_path / "three.png").is_file()


def test_two_recipes_with_same_named_plugin_files_each_get_their_own(tmp_path, tiny_recipe) -> None:
    for folder, name in (("one", "prior_one"), ("two", "prior_two")):
        write_local_plugin(tmp_path / folder, "extra.py", name)
        (tmp_path / folder / "r.yaml").write_text(tiny_recipe.read_text() + "plugins: [extra.py]\n")
    first = load_recipe(tmp_path / "one" / "r.yaml", ["model.prior.name=prior_one"])
    second = load_recipe(tmp_path / "two" / "r.yaml", ["model.prior.name=prior_two"])
    assert first.part("model", "prior").component.name == "prior_one"
    assert second.part("model", "prior").component.name == "prior_two"


def test_missing_local_plugin_file_is_a_recipe_error(tmp_path, tiny_recipe) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(tiny_recipe.read_text() + "plugins: [nowhere.py]\n")
    with pytest.raises(RecipeError) as caught:
        load_recipe(recipe)
    assert str(tmp_path / "nowhere.py") in caught.value.message
    assert f"{recipe}:" in caught.value.message  # points at the plugins line


def test_unimportable_plugin_module_is_a_recipe_error(tiny_recipe) -> None:
    with pytest.raises(RecipeError, match="'no_such_condgen_plugin' named in the recipe cannot be imported"):
        load_recipe(tiny_recipe, ["plugins=[no_such_condgen_plugin]"])
