"""Shared fixtures: tiny *real* data and real packaging, never mocks.

- ``tiny_mnist``: a data root with genuine IDX files (torchvision's reader
  parses them) holding a few hundred learnable 28x28 "digits".
- ``tiny_recipe``: a recipe file that trains the seed model shape on them in
  about a second.
- ``make_distribution``: puts a real ``*.dist-info`` with an entry point in the
  ``condgen`` group on ``sys.path``, so ``importlib.metadata`` discovers it
  exactly as it would an installed third-party plugin.
- ``real_mnist_root``: the real MNIST copy, or a skip saying where it was looked for.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import (
    REPO,
    TINY_RECIPE,
    find_real_mnist,
    write_image_folder,
    write_mnist_root,
)

from condgen.data import DATA_DIR_ENV


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A data root (holding MNIST/raw) with 200 train and 100 test images."""
    return write_mnist_root(tmp_path / "data")


@pytest.fixture
def tiny_image_folder(tmp_path: Path) -> Path:
    """An image folder with train/ and test/, three classes (class0-class2) of 28x28 grey PNGs."""
    return write_image_folder(tmp_path / "images")


@pytest.fixture
def tiny_recipe(tmp_path: Path, tiny_mnist: Path) -> Path:
    """A recipe for the seed model's shape, small enough to train in about a second."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE.format(root=tiny_mnist, out=tmp_path / "runs"))
    return path


@pytest.fixture
def make_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install a plugin the way pip would, minus pip: module + dist-info on sys.path.

    ``make_distribution("condgen-extra", "condgen_extra", source)`` writes
    ``condgen_extra.py`` and ``condgen_extra-0.1.dist-info/`` (METADATA and
    ``entry_points.txt`` in the ``condgen`` group) into a fresh folder and puts
    that folder on ``sys.path``; the fixture takes it off again afterwards.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def make(dist_name: str, module: str, source: str, version: str = "0.1", entry_name: str | None = None) -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist_name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[condgen]\n{entry_name or module} = {module}\n")
        created.append(module)
        importlib.invalidate_caches()
        return site

    yield make
    for module in created:
        sys.modules.pop(module, None)


@pytest.fixture
def real_mnist_root() -> Path:
    root = find_real_mnist()
    if root is None:
        pytest.skip(f"real MNIST not found: set ${DATA_DIR_ENV} or put it in {REPO.parent / 'shared' / 'data'}/MNIST/raw")
    return root


@pytest.fixture
def cli(capsys: pytest.CaptureFixture):
    """Run ``condgen ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from condgen.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A finished two-epoch run of the tiny recipe, made once; tests that change it work on ``run_copy``."""
    from condgen.engine.progress import SilentReporter
    from condgen.engine.session import start_run
    from condgen.recipe import load_recipe

    base = tmp_path_factory.mktemp("trained_run")
    recipe = base / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(root=write_mnist_root(base / "data"), out=base / "runs"))
    run, _ = start_run(load_recipe(recipe, ["trainer.threads=1"]), SilentReporter())
    return run.path


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    """A private copy of ``trained_run``."""
    import shutil

    copy = tmp_path / trained_run.name
    shutil.copytree(trained_run, copy)
    return copy
