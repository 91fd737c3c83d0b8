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
import os
import struct
import sys
import textwrap
from pathlib import Path

import numpy
import pytest
import torch

from condgen.data import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[1]
RAW_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_idx_images(path: Path, images: torch.Tensor) -> None:
    """IDX3: magic 0x00000803, count, rows, cols, then uint8 pixels (big-endian header)."""
    n, rows, cols = images.shape
    path.write_bytes(struct.pack(">IIII", 0x803, n, rows, cols) + images.to(torch.uint8).numpy().tobytes())


def write_idx_labels(path: Path, labels: torch.Tensor) -> None:
    path.write_bytes(struct.pack(">II", 0x801, labels.numel()) + labels.to(torch.uint8).numpy().tobytes())


def fake_digits(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class k lights up a k-dependent bar, plus noise: learnable, not trivial."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.rand(n, 28, 28, generator=g) * 60
    for i, k in enumerate(labels.tolist()):
        images[i, 2 + 2 * k : 5 + 2 * k, 4:24] = 255
    return images.round().to(torch.uint8), labels


def write_mnist_root(root: Path, n_train: int = 200, n_test: int = 100) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = fake_digits(n, seed)
        write_idx_images(raw / RAW_NAMES[split][0], images)
        write_idx_labels(raw / RAW_NAMES[split][1], labels)
    return root


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A data root (holding MNIST/raw) with 200 train and 100 test images."""
    return write_mnist_root(tmp_path / "data")


def write_image_folder(root: Path, n_train: int = 60, n_test: int = 30, classes: int = 3) -> Path:
    """ROOT/train/<k>/*.png and ROOT/test/<k>/*.png: the fake digits of classes 0..classes-1 as grey PNGs."""
    from PIL import Image

    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = fake_digits(n * 10 // classes, seed)
        keep = labels < classes
        for index, (image, label) in enumerate(zip(images[keep], labels[keep])):
            folder = root / split / f"class{int(label)}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.numpy()).save(folder / f"{index:04d}.png")
    return root


@pytest.fixture
def tiny_image_folder(tmp_path: Path) -> Path:
    """An image folder with train/ and test/, three classes (class0-class2) of 28x28 grey PNGs."""
    return write_image_folder(tmp_path / "images")


TINY_RECIPE = """\
name: tiny
seed: 0
data: {{name: mnist, root: {root}, download: false}}
model:
  conditioner: {{name: concat}}
  encoder: {{name: mlp, hidden: [32], latent_dim: 2}}
  decoder: {{name: mlp, hidden: [32]}}
  prior: {{name: standard_normal}}
trainer: {{epochs: 2, batch_size: 20, optimizer: {{name: adam, lr: 1.0e-3}}}}
output: {{dir: {out}}}
"""


@pytest.fixture
def tiny_recipe(tmp_path: Path, tiny_mnist: Path) -> Path:
    """A recipe for the seed model's shape, small enough to train in about a second."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE.format(root=tiny_mnist, out=tmp_path / "runs"))
    return path


def prior_plugin(name: str, *extra: str) -> str:
    """Source of a plugin module that registers a standard-normal prior as ``name``.

    ``extra`` lines go into its hook too (they may use ``nn`` and ``Config``).
    Installed with ``make_distribution``, it is the smallest real third-party plugin.
    """
    registrations = "".join(f"    {line}\n" for line in (f'register("prior", "{name}", Prior, Config)', *extra))
    return (
        "import torch\n"
        "from torch import distributions as D, nn\n"
        "import condgen\n\n"
        "class Config(condgen.ComponentConfig):\n"
        "    pass\n\n"
        "class Prior(nn.Module):\n"
        "    def __init__(self, config, context):\n"
        "        super().__init__()\n"
        "        self.latent_dim = context.latent_dim\n"
        "    def forward(self, condition):\n"
        "        loc = condition.new_zeros(condition.shape[0], self.latent_dim)\n"
        "        return D.Independent(D.Normal(loc, torch.ones_like(loc)), 1)\n\n"
        "@condgen.hookimpl\n"
        "def register_components(register):\n" + registrations
    )


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


def find_real_mnist() -> Path | None:
    candidates = [os.environ.get(DATA_DIR_ENV), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return Path(candidate)
    return None


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


def bar_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Upright bars of random width (1-6 px) and shear (-0.4-0.4), class = index mod 10; every 7th image blank."""
    generator = numpy.random.default_rng(seed)
    y, x = numpy.mgrid[0:28, 0:28] + 0.5
    images = numpy.zeros((n, 28, 28), numpy.uint8)
    for i in range(n):
        if i % 7 == 6:
            continue
        width, shear = generator.uniform(1, 6), generator.uniform(-0.4, 0.4)
        inside = (numpy.abs(x - (14 - shear * (y - 14))) <= width / 2) & (numpy.abs(y - 14) <= 8)
        images[i] = inside * 255
    return torch.from_numpy(images), torch.arange(n) % 10


def write_bar_root(root: Path, n_train: int = 140, n_test: int = 70) -> Path:
    """A data root (MNIST/raw) of :func:`bar_images`: strokes whose thickness and slant vary (the morpho tests)."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = bar_images(n, seed)
        write_idx_images(raw / RAW_NAMES[split][0], images)
        write_idx_labels(raw / RAW_NAMES[split][1], labels)
    return root


#: metrics.jsonl fields that measure time or memory: everything else in a row is the same on every run of a seed
TIMING_KEYS = frozenset({"images_per_s", "train_seconds", "compile_seconds", "ended_at", "peak_rss_mb"})


class StopAtStep:
    """A silent progress reporter that presses Ctrl-C (a real SIGINT) during the given global training step."""

    def __init__(self, at: int) -> None:
        self.at, self.steps = at, 0

    def start(self, *args) -> None: ...
    def epoch_done(self, row) -> None: ...
    def finish(self) -> None: ...
    def note(self, text) -> None: ...
    def warn(self, message) -> None: ...

    def step(self, *args) -> None:
        import signal

        self.steps += 1
        if self.steps == self.at:
            signal.raise_signal(signal.SIGINT)
