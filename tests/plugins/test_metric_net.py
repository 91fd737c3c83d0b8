"""The shipped MNIST metric network: the published file, small, accurate, and tamper-evident."""

from __future__ import annotations

import json
import shutil

import pytest

import condgen
from condgen_mnist import MNISTConfig
from condgen_mnist.dataset import MNIST
from condgen_mnist import metric_net


def test_shipped_weights_match_their_hash_card_and_size_limit():
    card = json.loads(metric_net.CARD.read_text())
    assert metric_net.sha256_of(metric_net.WEIGHTS) == metric_net.WEIGHTS_SHA256 == card["sha256"]
    assert metric_net.WEIGHTS.stat().st_size < 1_000_000
    assert card["test_accuracy"] >= 0.99
    net = metric_net.load_metric_net()
    assert sum(p.numel() for p in net.parameters()) == card["parameters"]
    assert not any(p.requires_grad for p in net.parameters())  # frozen: nothing can train it


def test_a_tampered_copy_is_refused(tmp_path):
    copy = tmp_path / "metric_net.pt"
    shutil.copyfile(metric_net.WEIGHTS, copy)
    copy.write_bytes(copy.read_bytes()[:-10])
    with pytest.raises(condgen.DataError, match="corrupted or was replaced"):
        metric_net.load_metric_net(copy)


@pytest.mark.slow
@pytest.mark.mnist
def test_shipped_network_classifies_the_real_test_set(real_mnist_root):
    test = MNIST(MNISTConfig(root=real_mnist_root, download=False)).load("test")
    net = metric_net.load_metric_net()
    assert metric_net.accuracy(net, test.x, test.labels) >= 0.99
