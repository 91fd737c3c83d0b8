"""The MNIST metric network: a small classifier shipped with condgen, so every
evaluation of an MNIST model uses the same frozen network.

``condgen eval`` uses its logits for conditional accuracy and its 64-d
penultimate features for FID. Its weights (``metric_net.pt``, about 0.5 MB)
are checked against :data:`WEIGHTS_SHA256` before loading, and loaded with
``weights_only=True``. It is never trained by the models it judges.

Retrain it (same seed, same figures on this CPU) with::

    CONDGEN_DATA_DIR=../shared/data python -m condgen_mnist.metric_net
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import condgen
from condgen.engine.atomic import atomic_path, write_json

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "metric_net.pt"
CARD = HERE / "metric_net.json"
WEIGHTS_SHA256 = "79af8c4b1efa02329a174dff4ee145ec46be1c3c826ef0f639a24eeaf2e46ce3"


class MetricNet(nn.Module):
    """Two conv layers and a 64-unit feature layer: 121,930 parameters, 99.10% on the MNIST test set."""

    feature_dim = 64

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.features_layer = nn.Sequential(nn.Flatten(), nn.Linear(64 * 5 * 5, self.feature_dim), nn.ReLU())
        self.classify = nn.Linear(self.feature_dim, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features of images in [0, 1], shape (N, 1, 28, 28) -> (N, 64)."""
        return self.features_layer(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_metric_net(path: Path | None = None, expected_sha256: str | None = None) -> MetricNet:
    """The shipped network, after checking the file is exactly the one that was published."""
    path = WEIGHTS if path is None else path
    expected_sha256 = WEIGHTS_SHA256 if expected_sha256 is None else expected_sha256
    try:
        actual = sha256_of(path)
    except OSError as error:
        raise condgen.DataError(f"The MNIST metric network {str(path)!r} cannot be read: {error.strerror}.") from None
    if actual != expected_sha256:
        raise condgen.DataError(
            f"The MNIST metric network {str(path)!r} is corrupted or was replaced "
            f"(sha256 {actual[:16]}..., expected {expected_sha256[:16]}...).",
            hint="Reinstall condgen, or retrain it with: python -m condgen_mnist.metric_net",
        )
    net = MetricNet()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval().requires_grad_(False)


@torch.no_grad()
def accuracy(net: MetricNet, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    correct = 0
    for start in range(0, len(images), batch):
        x = images[start : start + batch].float().div(255)
        correct += (net(x).argmax(1) == labels[start : start + batch]).sum().item()
    return correct / len(images)


def train(epochs: int, seed: int, out: Path) -> dict:
    """Adam, batch 128, small random shifts; the whole split held as one uint8 tensor."""

    from . import MNIST, MNISTConfig

    torch.manual_seed(seed)
    dataset = MNIST(MNISTConfig(download=False))
    train_split, test_split = dataset.load("train"), dataset.load("test")
    images, labels = train_split.x, train_split.labels
    net = MetricNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=epochs * (len(images) // 128 + 1))
    started = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(images))
        for start in range(0, len(images), 128):
            index = order[start : start + 128]
            x = images[index].float().div(255)
            shift = torch.randint(-2, 3, (2,)).tolist()
            x = torch.roll(x, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(net(x), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        net.eval()
        test_accuracy = accuracy(net, test_split.x, test_split.labels)
        print(f"epoch {epoch + 1}/{epochs}: test accuracy {test_accuracy:.4f} ({time.perf_counter() - started:.0f} s)")
    buffer = io.BytesIO()  # saved via a buffer: the zip's inner names then don't depend on the temp file's name
    torch.save(net.state_dict(), buffer)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    card = {
        "test_accuracy": test_accuracy,
        "epochs": epochs,
        "seed": seed,
        "parameters": sum(p.numel() for p in net.parameters()),
        "bytes": out.stat().st_size,
        "sha256": sha256_of(out),
        "train_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
        "command": "python -m condgen_mnist.metric_net",
    }
    write_json(out.with_suffix(".json"), card)
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the MNIST metric network condgen ships.")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    card = train(args.epochs, args.seed, args.out)
    print(json.dumps(card, indent=2))
    print(f"Set WEIGHTS_SHA256 = {card['sha256']!r} in {__file__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
