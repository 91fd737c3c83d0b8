"""The MNIST IDX reader: torchvision's tensors, exactly, from one copy of the file in memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from condgen.compat import torchvision
from condgen.data import resolve_data_root
from condgen_mnist.idx import read_idx


def test_a_written_idx_pair_reads_back_as_the_tensors_written(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    labels = torch.tensor([3, 1, 4, 1, 5])
    (tmp_path / "i").write_bytes(bytes.fromhex("00000803 00000005 0000001c 0000001c") + images.numpy().tobytes())
    (tmp_path / "l").write_bytes(bytes.fromhex("00000801 00000005") + labels.to(torch.uint8).numpy().tobytes())
    read = read_idx(tmp_path / "i", tmp_path / "l", 5)
    assert torch.equal(read.data, images) and read.data.dtype == torch.uint8
    assert torch.equal(read.targets, labels) and read.targets.dtype == torch.int64


@pytest.mark.skipif(not os.environ.get("CONDGEN_DATA_DIR"), reason="needs the real MNIST files")
def test_the_real_test_split_reads_as_torchvisions_reader_reads_it() -> None:
    root = resolve_data_root(None)
    raw = root / "MNIST" / "raw"
    ours = read_idx(raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte", 10_000)
    theirs = torchvision.datasets.MNIST(str(root), train=False)
    assert torch.equal(ours.data, theirs.data) and torch.equal(ours.targets, theirs.targets)
