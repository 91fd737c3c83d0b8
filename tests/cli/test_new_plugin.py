"""``condgen new-plugin``: every kind's package installs with pip and passes its own tests unchanged.

The packages are scaffolded through the real command, installed by a real
``pip install --target`` (offline: ``--no-index --no-deps``), and their tests
run in a fresh interpreter that finds them only through the installed
dist-info's entry points, with ``condgen_check`` coming from condgen's
``pytest11`` entry point. One pip call and one pytest run serve all kinds.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from condgen.cli import main
from condgen.plugins import load_plugins
from condgen.scaffold import kind_templates
from condgen.scaffold import NAME_RULE

# Every kind new-plugin can start from (text_encoder has no template yet: see docs/writing-plugins.md).
KINDS = tuple(kind_templates())
NAMES = {kind: f"acme_{kind}" for kind in KINDS}


@dataclass
class Scaffolded:
    root: Path  # holds condgen-NAME/ for every kind
    site: Path  # the pip --target folder
    results: dict[str, dict[str, str]]  # test file stem -> {test name: outcome}
    output: str  # the generated tests' pytest output, for failure messages


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONDGEN_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS")}
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    env["OMP_NUM_THREADS"] = "1"  # tiny models; threads only fight the other test processes for the cores
    env.update(extra)
    return env


def outcomes(junit: Path) -> dict[str, dict[str, str]]:
    results: dict[str, dict[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        stem = case.get("classname").rsplit(".", 1)[-1]
        failed = case.find("failure") is not None or case.find("error") is not None
        outcome = "failed" if failed else "skipped" if case.find("skipped") is not None else "passed"
        results.setdefault(stem, {})[case.get("name")] = outcome
    return results


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Scaffolded:
    root = tmp_path_factory.mktemp("scaffolds")
    for kind, name in NAMES.items():
        kind_args = [] if kind == "encoder" else ["--kind", kind]  # encoder is the default kind
        assert main(["new-plugin", name, *kind_args, "--directory", str(root)]) == 0
    folders = [str(root / f"condgen-{name}") for name in NAMES.values()]
    site = root / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
    pip += ["--disable-pip-version-check", "--quiet", "--target", str(site), *folders]
    installed = subprocess.run(pip, capture_output=True, text=True, env=clean_env(), timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    junit = root / "junit.xml"
    tests = [f"{folder}/tests" for folder in folders]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *tests],
        capture_output=True,
        text=True,
        cwd=root,
        env=clean_env(PYTHONPATH=str(site)),
        timeout=300,
    )
    return Scaffolded(root, site, outcomes(junit) if junit.exists() else {}, run.stdout + run.stderr)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_each_kinds_package_passes_its_own_tests_once_installed(scaffolded: Scaffolded, kind: str) -> None:
    results = scaffolded.results.get(f"test_{NAMES[kind]}")
    assert results, f"no results for the {kind} package:\n{scaffolded.output}"
    assert "test_passes_the_condgen_%s_kit" % kind in results
    assert len(results) >= 2, results  # the kit plus a test of the component's own behaviour
    assert set(results.values()) == {"passed"}, f"{results}\n{scaffolded.output}"


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_each_package_declares_its_entry_point_and_test_extra(scaffolded: Scaffolded, kind: str) -> None:
    name = NAMES[kind]
    folder = scaffolded.root / f"condgen-{name}"
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"condgen-{name}"
    assert project["entry-points"]["condgen"] == {name: f"condgen_{name}"}
    assert any(dep.startswith("condgen") for dep in project["dependencies"])
    assert any(dep.startswith("pytest") for dep in project["optional-dependencies"]["test"])
    source = (folder / f"condgen_{name}" / "__init__.py").read_text()
    assert f'register("{kind}", "{name}",' in source and "condgen.ComponentConfig" in source
    assert "condgen_check" in (folder / "tests" / f"test_{name}.py").read_text()
    assert f"`{name}`" in (folder / "README.md").read_text()
    recipes = list(folder.glob("*.yaml"))
    assert len(recipes) == 1
    for recipe in recipes:
        assert f"name: {name}" in recipe.read_text()


@pytest.mark.slow
def test_installed_packages_register_under_their_distributions(
    scaffolded: Scaffolded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(scaffolded.site))
    try:
        registry = load_plugins().registry
        for kind, name in NAMES.items():
            source = registry.get(kind, name).source
            assert (source.module, source.distribution, source.version) == (f"condgen_{name}", f"condgen-{name}", "0.1.0")
    finally:
        for name in NAMES.values():
            sys.modules.pop(f"condgen_{name}", None)
        importlib.invalidate_caches()


@pytest.mark.parametrize("name", ["1abc", "my plugin", "Foo!", "my-plugin", "Upper", "x" * 61])
def test_a_name_that_is_not_a_package_name_is_refused(cli, tmp_path: Path, name: str) -> None:
    code, out, err = cli("new-plugin", name, "--directory", tmp_path)
    assert code == 2
    assert "lowercase letters, digits and underscores, starting with a letter" in err
    assert NAME_RULE.split("(")[0].strip() in " ".join(err.split())
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_refusal_suggests_a_valid_name(cli, tmp_path: Path) -> None:
    code, _, err = cli("new-plugin", "My Plugin", "--directory", tmp_path)
    assert code == 2 and "Try 'my_plugin'." in err


def test_an_existing_folder_is_never_overwritten(cli, tmp_path: Path) -> None:
    target = tmp_path / "condgen-acme"
    target.mkdir()
    (target / "pyproject.toml").write_text("mine\n")
    code, _, err = cli("new-plugin", "acme", "--kind", "prior", "--directory", tmp_path)
    assert code == 2
    assert "already exists" in err and "nothing was written" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["condgen-acme"]  # no leftover staging folder
    assert [p.name for p in target.iterdir()] == ["pyproject.toml"]
    assert (target / "pyproject.toml").read_text() == "mine\n"


def test_a_name_already_registered_for_the_kind_is_refused_naming_its_plugin(cli, tmp_path: Path) -> None:
    code, _, err = cli("new-plugin", "mlp", "--kind", "decoder", "--directory", tmp_path)
    assert code == 2
    assert "'mlp' is already registered by condgen_mlp (condgen)" in " ".join(err.split())
    assert list(tmp_path.iterdir()) == []


def test_a_directory_that_is_a_file_is_refused(cli, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for directory in (tmp_path / "file", tmp_path / "file" / "below"):
        code, _, err = cli("new-plugin", "acme", "--directory", directory)
        assert code == 2 and "Traceback" not in err and str(tmp_path / "file") in err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_an_unknown_kind_is_a_usage_error(cli, tmp_path: Path) -> None:
    code, _, err = cli("new-plugin", "acme", "--kind", "critic", "--directory", tmp_path)
    assert code == 2 and "'critic' is not one of" in err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_created_and_the_next_steps_are_printed(cli, tmp_path: Path) -> None:
    code, out, err = cli("new-plugin", "acme", "--kind", "dataset", "--directory", tmp_path / "new" / "place")
    assert code == 0, err
    target = tmp_path / "new" / "place" / "condgen-acme"
    assert sorted(p.name for p in (tmp_path / "new" / "place").iterdir()) == ["condgen-acme"]
    assert (target / "condgen_acme" / "__init__.py").is_file()
    assert "pip install -e" in out and "python -m pytest" in out and "condgen validate" in out


def test_a_name_whose_import_package_exists_is_refused(cli, tmp_path: Path) -> None:
    # 'priors' names no prior (those are standard_normal and conditional), but condgen_priors is a package already
    code, _, err = cli("new-plugin", "priors", "--kind", "prior", "--directory", tmp_path)
    assert code == 2
    assert "'condgen_priors' already exists" in " ".join(err.split()) and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_numeric_option_a_scaffolded_config_declares_is_bounded_both_ways(kind, tmp_path, monkeypatch) -> None:
    """The house rule (every numeric field bounded) holds for what new-plugin teaches authors to write."""
    from condgen.scaffold import write_plugin

    target = write_plugin(f"bounded_{kind}", kind, tmp_path)
    monkeypatch.syspath_prepend(str(target))
    module = importlib.import_module(f"condgen_bounded_{kind}")
    try:
        configs = [value for name, value in vars(module).items() if name.endswith("Config") and isinstance(value, type)]
        assert configs
        for config in configs:
            for field_name, info in config.model_fields.items():
                if info.annotation not in (int, float):
                    continue
                bounds = {type(item).__name__ for item in info.metadata}
                assert bounds & {"Ge", "Gt"} and bounds & {"Le", "Lt"}, f"{config.__name__}.{field_name}: {bounds}"
    finally:
        sys.modules.pop(module.__name__, None)
