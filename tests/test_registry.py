"""The component registry: (kind, name) lookups and the errors users see."""

from __future__ import annotations

import pytest

import condgen
from condgen.errors import PluginError
from condgen.plugins import load_plugins
from condgen.registry import KINDS, Part, PluginSource, Registry

from helpers import prior_plugin

SOURCE_A = PluginSource("plug_a", "dist-a", "1.0")
SOURCE_B = PluginSource("plug_b", "dist-b", "2.5")


class Options(condgen.ComponentConfig):
    width: int = 3


def factory(config, context):
    return ("built", config.width, context)


def test_lookup_by_kind_and_name_returns_that_component() -> None:
    registry = Registry()
    registry.add("encoder", "mlp", factory, Options, source=SOURCE_A)
    registry.add("decoder", "mlp", lambda c, x: "decoder", Options, source=SOURCE_A)

    encoder = registry.get("encoder", "mlp")
    assert (encoder.kind, encoder.name, encoder.source) == ("encoder", "mlp", SOURCE_A)
    assert Part(encoder, Options(width=7)).build("ctx") == ("built", 7, "ctx")
    # The same name under another kind is another component.
    assert Part(registry.get("decoder", "mlp"), Options()).build(None) == "decoder"


def test_unknown_name_lists_names_of_that_kind_and_the_closest_match() -> None:
    registry = Registry()
    for name in ("standard_normal", "mixture", "vamp"):
        registry.add("prior", name, factory, Options, source=SOURCE_A)
    registry.add("encoder", "conv", factory, Options, source=SOURCE_A)

    with pytest.raises(PluginError) as caught:
        registry.get("prior", "standard_normel")
    message = caught.value.message
    assert "Unknown prior 'standard_normel'" in message
    assert "Did you mean 'standard_normal'?" in message
    assert "Registered priors: mixture, standard_normal, vamp." in message
    assert "conv" not in message  # other kinds are not offered


def test_unknown_name_with_nothing_close_still_lists_the_candidates() -> None:
    registry = Registry()
    registry.add("encoder", "mlp", factory, Options, source=SOURCE_A)
    with pytest.raises(PluginError) as caught:
        registry.get("encoder", "transformer")
    assert "Did you mean" not in caught.value.message
    assert "Registered encoders: mlp." in caught.value.message
    # ... and says how to find or install the plugin that might provide it
    assert "`condgen plugins` lists every installed component" in caught.value.message
    assert "pip install" in caught.value.message and "plugins: list" in caught.value.message
    with pytest.raises(PluginError, match="Registered heads: none"):
        registry.get("head", "classifier")


def test_duplicate_name_fails_only_when_used_and_names_both_plugins() -> None:
    registry = Registry()
    registry.add("prior", "twin", factory, Options, source=SOURCE_A)
    registry.add("prior", "twin", factory, Options, source=SOURCE_B)
    registry.add("prior", "single", factory, Options, source=SOURCE_B)

    assert registry.get("prior", "single").source == SOURCE_B  # untouched names still work
    assert set(registry.conflicts()) == {("prior", "twin")}
    with pytest.raises(PluginError) as caught:
        registry.get("prior", "twin")
    message = caught.value.message
    assert "plug_a (dist-a 1.0)" in message and "plug_b (dist-b 2.5)" in message
    assert "CONDGEN_DISABLE_PLUGIN_AUTOLOAD" in caught.value.hint


@pytest.mark.parametrize(
    ("kind", "name", "make", "config", "expected"),
    [
        ("layer", "x", factory, Options, "unknown kind 'layer'"),
        ("encoder", "", factory, Options, "invalid name"),
        ("encoder", "x", "not callable", Options, "not callable"),
        ("encoder", "x", factory, dict, "pydantic model"),
    ],
)
def test_bad_registrations_are_rejected_naming_the_plugin(kind, name, make, config, expected) -> None:
    with pytest.raises(PluginError) as caught:
        Registry().add(kind, name, make, config, source=SOURCE_A)
    assert expected in str(caught.value)
    assert "plug_a (dist-a)" in str(caught.value)


def test_component_configs_reject_unknown_options() -> None:
    with pytest.raises(Exception, match="extra"):
        Options(width=1, depth=2)


def test_builtins_are_registered_under_the_documented_names() -> None:
    registry = load_plugins().registry
    expected = {
        ("dataset", "mnist"): "condgen_mnist",
        ("conditioner", "concat"): "condgen_concat",
        ("encoder", "mlp"): "condgen_mlp",
        ("decoder", "mlp"): "condgen_mlp",
        ("prior", "standard_normal"): "condgen_priors",
    }
    for (kind, name), module in expected.items():
        source = registry.get(kind, name).source
        assert (source.module, source.distribution) == (module, "condgen")
    assert set(KINDS) == {"dataset", "conditioner", "encoder", "decoder", "prior", "head", "text_encoder", "logger"}


TWIN_PRIOR = prior_plugin("twin")


def test_same_name_from_two_installed_distributions_errors_naming_both(make_distribution, tiny_recipe, cli) -> None:
    make_distribution("cg-alpha", "cg_alpha", TWIN_PRIOR, version="0.3")
    make_distribution("cg-beta", "cg_beta", TWIN_PRIOR, version="1.4")

    # A recipe that does not use the clashing name is unaffected ...
    code, out, err = cli("validate", tiny_recipe)
    assert code == 0, err
    # ... one that does is refused, naming both distributions.
    code, out, err = cli("run", tiny_recipe, "model.prior.name=twin")
    assert code == 2
    assert "registered by more than one plugin" in err
    assert "cg_alpha (cg-alpha 0.3)" in err and "cg_beta (cg-beta 1.4)" in err
    assert "Traceback" not in out + err
    assert not (tiny_recipe.parent / "runs").exists()


def test_a_factory_given_by_path_is_imported_only_when_built() -> None:
    registry = Registry()
    registry.add("encoder", "lazy", "json:loads", Options, source=SOURCE_A)
    component = registry.get("encoder", "lazy")
    assert component.factory == "json:loads"  # nothing imported at registration
    assert component.load_factory() is __import__("json").loads


def test_a_factory_path_that_cannot_be_imported_names_the_plugin_and_the_path() -> None:
    registry = Registry()
    registry.add("encoder", "gone", "condgen_nowhere.networks:Gone", Options, source=SOURCE_A)
    with pytest.raises(PluginError, match=r"encoder 'gone' of plugin .*'condgen_nowhere.networks:Gone'.*ModuleNotFoundError"):
        Part(registry.get("encoder", "gone"), Options()).build(None)


def test_a_factory_that_is_neither_callable_nor_a_path_is_refused() -> None:
    with pytest.raises(PluginError, match="not callable"):
        Registry().add("encoder", "bad", "no path here", Options, source=SOURCE_A)
