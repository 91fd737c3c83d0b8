"""Helpers the tests share: tiny *real* data files, recipe text, plugin sources.

Plain functions and constants, imported as ``from helpers import ...``; the
fixtures built on them live in ``conftest.py``. Tests never import each other.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy
import pytest
import torch

from condgen.data import DATA_DIR_ENV
from condgen.engine.progress import SilentReporter
from condgen.engine.session import start_run
from condgen.recipe import load_recipe

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


def find_real_mnist() -> Path | None:
    candidates = [os.environ.get(DATA_DIR_ENV), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return Path(candidate)
    return None


def installed_context(**fields):
    """A BuildContext whose nested blocks resolve through the installed plugins, as the composer's do."""
    from condgen import BuildContext
    from condgen.compose import resolver
    from condgen.plugins import load_plugins

    return BuildContext(resolve=resolver(load_plugins()), **fields)


# -- training runs: train, read back, compare ------------------------------------



def checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def without_timings(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]


def assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def train(recipe: Path, *overrides: str, reporter=None) -> Path:
    run, _ = start_run(load_recipe(recipe, list(overrides)), reporter or SilentReporter())
    return run.path


#: overrides that turn the tiny recipe into a small CVAE-GAN (conv networks, classifier and discriminator heads)
GAN = [
    "model.conditioner.layout=channels",
    "model.encoder={name: conv, channels: [8, 16], hidden: 32, latent_dim: 4}",
    "model.decoder={name: conv, channels: [16, 8], hidden: 32}",
    "model.heads={classifier: {name: classifier, channels: [8, 16], features: 32},"
    " discriminator: {name: discriminator, channels: [8, 16], features: 32}}",
    "trainer.kl_weight=3",
]


# -- more tiny data: image folders and measurable strokes --------------------------

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


def needs_permissions(covered_by: Callable) -> pytest.MarkDecorator:
    """Marks a test that makes a path unreadable or unwritable with chmod. Root reads and writes through
    permissions, and CI runs as root, so there such a test is skipped and ``covered_by`` runs instead: a sibling
    test giving the same failure in a way root cannot get past (a path below a regular file, a read that fails).
    Taking the test itself, not its name, keeps the pair from drifting apart."""
    return pytest.mark.skipif(
        os.geteuid() == 0, reason=f"root reads and writes through permissions; {covered_by.__name__} covers root"
    )


@contextmanager
def locked_folder(folder: Path) -> Iterator[Path]:
    """``folder``, made for the block readable but not writable (for :func:`needs_permissions` tests); writable again
    after it, so what the test asserts about its contents can be read and tmp_path can be removed."""
    folder.mkdir()
    folder.chmod(0o500)
    try:
        yield folder
    finally:
        folder.chmod(0o700)


#: seconds a launched condgen or torchrun may take: generous for a busy 2-core machine, and a hang still ends the test
PROCESS_TIMEOUT = 180


def run_process(command: list[str], cwd: Path | None = None, timeout: int = PROCESS_TIMEOUT,
                **extra_env: str) -> subprocess.CompletedProcess:
    """``command`` in a fresh process, without a torchrun worker's variables (it starts its own world if it launches
    one), with ``extra_env`` set."""
    env = {key: value for key, value in os.environ.items() if key not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    return subprocess.run(command, cwd=cwd, env={**env, **extra_env}, capture_output=True, text=True, timeout=timeout)


def condgen_process(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m condgen ARGS`` in a fresh process (see :func:`run_process`): what ``--nproc`` needs to launch."""
    return run_process([sys.executable, "-m", "condgen", *map(str, args)], cwd)
