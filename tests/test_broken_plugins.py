"""Broken third-party plugins, installed for real (a dist-info on sys.path, found by
importlib.metadata, loaded through pluggy): each is named by module and
distribution, ``condgen plugins`` still lists everything else, and recipes that
do not use a broken plugin run as if it were not there."""

from __future__ import annotations

import re

import pytest
import yaml

from condgen.plugins import load_plugins

from helpers import prior_plugin


@pytest.fixture(autouse=True)
def wide_table(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


FAILS_TO_IMPORT = """
import condgen
import condgen_libfoo_that_is_not_installed  # the plugin's own dependency is missing
"""

SYNTAX_ERROR = """
import condgen
def register_components(register)  # missing colon
    pass
"""

RAISES_IN_HOOK = """
import condgen

@condgen.hookimpl
def register_components(register):
    raise RuntimeError("could not find its weights file")
"""

WRONG_HOOK_SIGNATURE = """
import condgen

@condgen.hookimpl
def register_components(registry, extra):
    pass
"""

INVALID_CONFIG = """
import pydantic
import condgen

class Loose(pydantic.BaseModel):  # a pydantic model, but lets misspelt options through
    width: int = 3

class NotAModel:
    width = 3

def build(config, context):
    raise AssertionError("never built")

@condgen.hookimpl
def register_components(register):
    register("encoder", "half_registered", build, condgen.ComponentConfig)  # fine on its own
    register("encoder", "odd", build, {config})
"""

WRONG_SHAPES = """
import math
import torch
from torch import distributions as D, nn
import condgen

class Config(condgen.ComponentConfig):
    latent_dim: int = 2

class OffByOneEncoder(nn.Module):
    '''Says latent_dim = 2, returns a distribution over 3 values.'''
    def __init__(self, config, context):
        super().__init__()
        self.latent_dim = config.latent_dim
        self.net = nn.Linear(math.prod(context.input_shape), 2 * (config.latent_dim + 1))
    def forward(self, joined, condition=None):
        mu, log_var = self.net(joined.flatten(1)).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var)), 1)

class PixelwiseDecoder(nn.Module):
    '''Forgets D.Independent: batch shape (B, 1, 28, 28), event shape ().'''
    def __init__(self, config, context):
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.net = nn.Linear(math.prod(context.input_shape), math.prod(self.output_shape))
    def forward(self, joined, condition=None):
        return D.Bernoulli(logits=self.net(joined.flatten(1)).view(-1, *self.output_shape), validate_args=False)

@condgen.hookimpl
def register_components(register):
    register("encoder", "off_by_one", OffByOneEncoder, Config)
    register("decoder", "pixelwise", PixelwiseDecoder, condgen.ComponentConfig)
"""

EXITS_ON_IMPORT = """
import sys
sys.exit(0)  # would end condgen with exit 0 and no output
"""

EXITS_IN_HOOK = """
import sys
import condgen

@condgen.hookimpl
def register_components(register):
    sys.exit(0)
"""

GARBAGE = """
import math
from torch import distributions as D, nn
import condgen

class Config(condgen.ComponentConfig):
    pass

class Raises(nn.Module):
    latent_dim = 2
    def __init__(self, config, context):
        super().__init__()
        self.net = nn.Linear(math.prod(context.input_shape), 4)
    def forward(self, joined, condition=None):
        raise RuntimeError("boom in forward")

def fails_to_build(config, context):
    raise ValueError("cannot build")

@condgen.hookimpl
def register_components(register):
    register("encoder", "returns_int", lambda config, context: 3, Config)
    register("encoder", "returns_none", lambda config, context: None, Config)
    register("encoder", "returns_object", lambda config, context: object(), Config)
    register("encoder", "fails_to_build", fails_to_build, Config)
    register("encoder", "raises", Raises, Config)
"""

BUILTINS = [
    ("dataset", "mnist", "condgen_mnist"),
    ("conditioner", "concat", "condgen_concat"),
    ("encoder", "mlp", "condgen_mlp"),
    ("decoder", "mlp", "condgen_mlp"),
    ("prior", "standard_normal", "condgen_priors"),
]


def row(out: str, *cells: str) -> str:
    pattern = r"\W+".join(re.escape(cell) for cell in cells)
    found = [line for line in out.splitlines() if re.search(pattern, line)]
    assert found, f"no line with {cells} in:\n{out}"
    return found[0]


def assert_builtins_listed(out: str) -> None:
    for kind, name, module in BUILTINS:
        row(out, kind, name, module, "condgen")


def with_block(recipe, path: tuple[str, ...], block: dict):
    data = yaml.safe_load(recipe.read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = block
    target = recipe.with_name(f"uses_{block['name']}.yaml")
    target.write_text(yaml.safe_dump(data))
    return target


@pytest.mark.parametrize(
    "source, reason",
    [
        (FAILS_TO_IMPORT, "ModuleNotFoundError: No module named 'condgen_libfoo_that_is_not_installed'"),
        (SYNTAX_ERROR, "SyntaxError"),
        (RAISES_IN_HOOK, "RuntimeError: could not find its weights file"),
        (WRONG_HOOK_SIGNATURE, "registry"),
        (EXITS_ON_IMPORT, "SystemExit: 0"),
        (EXITS_IN_HOOK, "SystemExit: 0"),
    ],
    ids=["missing-dependency", "syntax-error", "raises-in-hook", "wrong-hook-signature", "exit-on-import",
         "exit-in-hook"],
)
def test_a_plugin_that_fails_to_load_is_named_and_everything_else_still_works(
    make_distribution, cli, tiny_recipe, source, reason
):
    make_distribution("condgen-broken", "condgen_broken", source, version="0.3")

    code, out, err = cli("plugins")
    assert code == 0, err
    assert_builtins_listed(out)
    line = row(out, "broken plugin", "condgen_broken", "condgen-broken")
    assert reason in line

    code, out, err = cli("validate", tiny_recipe)
    assert code == 0 and "is valid" in out, err
    code, out, err = cli("run", tiny_recipe, "trainer.epochs=1", "trainer.threads=1")
    assert code == 0, err
    assert list((tiny_recipe.parent / "runs").glob("*/checkpoints/last.pt"))  # it really trained


@pytest.mark.parametrize(
    "name, problem",
    [
        ("returns_int", "its factory returned int (3)"),
        ("returns_none", "its factory returned NoneType"),
        ("returns_object", "its factory returned object"),
        ("fails_to_build", "building it raised ValueError: cannot build"),
    ],
)
def test_a_factory_that_returns_the_wrong_thing_is_named_with_its_plugin(
    make_distribution, cli, tiny_recipe, name, problem
):
    make_distribution("cg-garbage", "cg_garbage", GARBAGE)
    code, _, err = cli("run", tiny_recipe, f"model.encoder={{name: {name}}}", "trainer.epochs=1")
    assert code == 2, err
    assert f"encoder '{name}' from plugin cg_garbage: {problem}" in " ".join(err.split())
    assert "Traceback" not in err
    assert not (tiny_recipe.parent / "runs").exists()  # refused before the run folder was made


def test_a_forward_that_raises_names_the_component_and_debug_shows_the_traceback(make_distribution, cli, tiny_recipe):
    make_distribution("cg-garbage", "cg_garbage", GARBAGE)
    args = ("run", tiny_recipe, "model.encoder={name: raises}", "trainer.epochs=1")
    code, _, err = cli(*args)
    assert code == 2, err
    assert "encoder 'raises' from plugin cg_garbage: RuntimeError: boom in forward" in " ".join(err.split())
    assert "Traceback" not in err
    code, _, err = cli("--debug", *args)
    assert code == 2 and "Traceback" in err and "boom in forward" in err


def test_a_name_only_a_broken_plugin_would_provide_points_at_it(make_distribution, cli, tiny_recipe):
    make_distribution("condgen-broken", "condgen_broken", FAILS_TO_IMPORT)
    recipe = with_block(tiny_recipe, ("model", "prior"), {"name": "fancy"})
    code, _, err = cli("validate", recipe)
    assert code == 2 and "Traceback" not in err
    assert "Unknown prior 'fancy'" in err
    assert "condgen_broken (condgen-broken)" in err and "condgen_libfoo_that_is_not_installed" in err


def test_two_plugins_claiming_one_name_are_both_named_and_only_that_name_is_blocked(make_distribution, cli, tiny_recipe):
    make_distribution("condgen-fancy-a", "condgen_fancy_a", prior_plugin("fancy"), version="1.0")
    make_distribution("condgen-fancy-b", "condgen_fancy_b", prior_plugin("fancy"), version="2.0")

    code, out, err = cli("plugins")
    assert code == 0, err
    assert_builtins_listed(out)
    row(out, "prior", "fancy", "(name clash)", "condgen_fancy_a", "condgen-fancy-a")
    row(out, "prior", "fancy", "(name clash)", "condgen_fancy_b", "condgen-fancy-b")

    code, _, err = cli("validate", with_block(tiny_recipe, ("model", "prior"), {"name": "fancy"}))
    assert code == 2 and "Traceback" not in err
    assert "condgen_fancy_a (condgen-fancy-a 1.0)" in err and "condgen_fancy_b (condgen-fancy-b 2.0)" in err

    code, _, err = cli("validate", tiny_recipe)
    assert code == 0, err


def test_a_plugin_taking_a_builtin_name_is_named_next_to_the_builtin(make_distribution, cli, tiny_recipe):
    make_distribution("condgen-squatter", "condgen_squatter", prior_plugin("standard_normal"))
    code, _, err = cli("validate", tiny_recipe)
    assert code == 2
    assert "condgen_priors (condgen 0.1.0)" in err and "condgen_squatter (condgen-squatter 0.1)" in err


@pytest.mark.parametrize(
    "config, reason",
    [("dict", "not a pydantic model"), ("NotAModel", "not a pydantic model"), ("Loose", "not a condgen.ComponentConfig")],
)
def test_an_invalid_config_model_marks_the_plugin_broken_and_registers_none_of_it(
    make_distribution, cli, tiny_recipe, config, reason
):
    make_distribution("condgen-odd", "condgen_odd", INVALID_CONFIG.format(config=config))

    code, out, err = cli("plugins")
    assert code == 0, err
    assert_builtins_listed(out)
    line = row(out, "broken plugin", "condgen_odd", "condgen-odd")
    assert "'odd'" in line and reason in line
    assert "half_registered" not in out  # all or nothing: a half-registered plugin would be worse
    assert [b.module for b in load_plugins().broken] == ["condgen_odd"]

    code, _, err = cli("validate", with_block(tiny_recipe, ("model", "encoder"), {"name": "odd"}))
    assert code == 2 and "condgen_odd (condgen-odd)" in err

    code, _, err = cli("validate", tiny_recipe)
    assert code == 0, err


@pytest.mark.parametrize(
    "path, block, expected",
    [
        (("model", "encoder"), {"name": "off_by_one"}, "event shape (3,); expected batch shape (20,) and event shape (2,)"),
        (("model", "decoder"), {"name": "pixelwise"}, "batch shape (20, 1, 28, 28) and event shape ()"),
    ],
    ids=["encoder", "decoder"],
)
def test_wrong_shapes_at_run_time_name_the_plugin(make_distribution, cli, tiny_recipe, tmp_path, path, block, expected):
    make_distribution("condgen-shapes", "condgen_shapes", WRONG_SHAPES, version="0.9")
    recipe = with_block(tiny_recipe, path, block)

    code, _, err = cli("run", recipe, "trainer.threads=1")

    assert code == 2 and "Traceback" not in err
    assert f"'{block['name']}' (plugin condgen_shapes, distribution condgen-shapes 0.9)" in err
    assert expected in err
    status = yaml.safe_load(next((tmp_path / "runs").glob("*/run.json")).read_text())
    assert status["status"] == "failed"


def test_all_of_them_at_once_never_stop_a_recipe_that_uses_none_of_them(make_distribution, cli, tiny_recipe):
    make_distribution("condgen-broken", "condgen_broken", FAILS_TO_IMPORT)
    make_distribution("condgen-hook", "condgen_hook", RAISES_IN_HOOK)
    make_distribution("condgen-fancy-a", "condgen_fancy_a", prior_plugin("fancy"))
    make_distribution("condgen-fancy-b", "condgen_fancy_b", prior_plugin("fancy"))
    make_distribution("condgen-odd", "condgen_odd", INVALID_CONFIG.format(config="dict"))
    make_distribution("condgen-shapes", "condgen_shapes", WRONG_SHAPES)

    code, out, err = cli("plugins")
    assert code == 0, err
    assert_builtins_listed(out)
    row(out, "encoder", "off_by_one", "condgen_shapes", "condgen-shapes")
    for module, dist in [("condgen_broken", "condgen-broken"), ("condgen_hook", "condgen-hook"), ("condgen_odd", "condgen-odd")]:
        row(out, "broken plugin", module, dist)

    code, out, err = cli("run", tiny_recipe, "trainer.threads=1")
    assert code == 0, err
    assert "Finished" in out
