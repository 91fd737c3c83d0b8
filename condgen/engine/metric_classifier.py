"""A metric classifier for labelled datasets that ship none: trained once on the training split, then cached.

``condgen eval`` judges generated images with a classifier (conditional
accuracy from its logits, FID from its features). MNIST ships a frozen one;
for any other labelled dataset this module trains a small convolutional one on
the dataset's own training split, with a fixed seed, and caches it under
``DATA_ROOT/metric_networks/<key>.pt`` keyed by the recipe's data block, the
image shape and the classes, so every run on the same data is judged by the
same network. The weights are checked against the SHA-256 in the card written
beside them and loaded with ``weights_only=True``; a file that does not match
is trained again, never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .atomic import atomic_path, write_json

VERSION = 1
EPOCHS = 3
BATCH = 128
SEED = 0


class SmallClassifier(nn.Module):
    """Two 3x3 conv blocks (32, 64 channels, each max-pooled), pooled to 5x5, a 64-unit feature layer, the logits."""

    feature_dim = 64

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(5),
        )
        self.features_layer = nn.Sequential(nn.Flatten(), nn.Linear(64 * 25, self.feature_dim), nn.ReLU())
        self.classify = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_layer(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


def cache_key(data_block: dict[str, Any], x_shape: tuple[int, ...], num_classes: int) -> str:
    text = json.dumps([VERSION, EPOCHS, SEED, data_block, list(x_shape), num_classes], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def metric_classifier(
    dataset: Any, data_block: dict[str, Any], cache_dir: Path, progress: Callable[[str], None] = lambda m: None
) -> tuple[nn.Module, dict[str, Any]]:
    """The cached classifier for this dataset (trained now when absent or not matching its hash), and its card."""
    key = cache_key(data_block, tuple(dataset.x_shape), int(dataset.num_classes))
    weights, card_path = cache_dir / f"{key}.pt", cache_dir / f"{key}.json"
    loaded = _load(weights, card_path, dataset)
    if loaded is not None:
        return loaded
    progress("training a metric classifier on the training split (cached afterwards)")
    net, card = _train(dataset)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(weights) as tmp:
        tmp.write_bytes(buffer.getvalue())
    card.update(sha256=hashlib.sha256(buffer.getvalue()).hexdigest(), file=str(weights))
    write_json(card_path, card)
    return net.eval().requires_grad_(False), card


def _load(weights: Path, card_path: Path, dataset: Any) -> tuple[nn.Module, dict[str, Any]] | None:
    try:
        card = json.loads(card_path.read_text())
        data = weights.read_bytes()
        if not isinstance(card, dict) or hashlib.sha256(data).hexdigest() != card.get("sha256"):
            return None
        net = SmallClassifier(dataset.x_shape[0], dataset.num_classes)
        net.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    except (OSError, ValueError, RuntimeError, KeyError, TypeError):
        return None
    return net.eval().requires_grad_(False), card


def _train(dataset: Any) -> tuple[SmallClassifier, dict[str, Any]]:
    """Adam, batch 128, a fixed seed; the split's ``labels`` are the targets."""
    train, test = dataset.load("train"), dataset.load("test")
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(SEED)
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        net = SmallClassifier(dataset.x_shape[0], dataset.num_classes)
        optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
        net.train()
        for _ in range(EPOCHS):
            order = torch.randperm(len(train), generator=generator)
            for start in range(0, len(train), BATCH):
                index = order[start : start + BATCH]
                x, _ = train.batch(index)
                loss = F.cross_entropy(net(x), train.labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    net.eval().requires_grad_(False)
    card = {
        "network": "condgen.engine.metric_classifier.SmallClassifier",
        "trained_on": "the dataset's training split",
        "test_accuracy": accuracy(net, test),
        "epochs": EPOCHS,
        "seed": SEED,
        "parameters": sum(p.numel() for p in net.parameters()),
        "train_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
    }
    return net, card


@torch.no_grad()
def accuracy(net: nn.Module, split: Any, batch: int = 1000) -> float:
    correct = 0
    for start in range(0, len(split), batch):
        index = torch.arange(start, min(start + batch, len(split)))
        x, _ = split.batch(index)
        correct += (net(x).argmax(1) == split.labels[index]).sum().item()
    return correct / max(len(split), 1)
