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


class StopAtStep:
    """A silent progress reporter that presses Ctrl-C (a real SIGINT) during the given global training step."""

    def __init__(self, at: int) -> None:
        self.at, self.steps = at, 0

    def start(self, *args) -> None: ...
    def epoch_done(self, row) -> None: ...
    def finish(self) -> None: ...

    def step(self, *args) -> None:
        import signal

        self.steps += 1
        if self.steps == self.at:
            signal.raise_signal(signal.SIGINT)
