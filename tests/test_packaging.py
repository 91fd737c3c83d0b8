"""``python -m build`` makes a wheel that carries everything condgen ships: the core, every built-in plugin
(registered through its entry point) and the metric network's weights, so a plugin author can install condgen
from it where condgen is not on a package index."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from the repository's tracked files, in a copy (a build writes build/ and egg-info)."""
    source = tmp_path_factory.mktemp("source")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO / name).read_bytes())
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (built,) = out.glob("condgen-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_carries_the_core_every_builtin_plugin_and_the_metric_network(wheel) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    builtins = project["entry-points"]["condgen"]
    names = zipfile.ZipFile(wheel).namelist()
    for module in ["condgen", *builtins.values()]:
        assert f"{module}/__init__.py" in names, module
    assert {"condgen_mnist/metric_net.pt", "condgen_mnist/metric_net.json"} <= set(names)
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    listed = zipfile.ZipFile(wheel).read(entry_points).decode()
    for label, module in builtins.items():
        assert f"{label} = {module}" in listed
    assert not any(name.startswith(("tests/", "examples/", "benchmarks/")) for name in names)


@pytest.mark.slow
def test_condgen_installed_from_the_wheel_imports_its_plugins_and_loads_the_metric_network(wheel, tmp_path) -> None:
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    builtins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["condgen"]
    # -S: no site hooks, so the checkout's editable install cannot answer; torch and friends come from
    # site-packages, condgen only from what pip installed out of the wheel.
    code = f"""
import importlib, sys
sys.path[:0] = [{str(target)!r}, {sysconfig.get_paths()["purelib"]!r}]
for module in ["condgen", *{sorted(builtins.values())!r}]:
    assert importlib.import_module(module).__file__.startswith({str(target)!r}), module
from condgen_mnist.metric_net import load_metric_net
net = load_metric_net()  # checks the shipped weights against their SHA-256
print(sum(p.numel() for p in net.parameters()))
"""
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "121930"  # the network the README describes
