"""The built-in ``mnist`` dataset, read by torchvision from real IDX files."""

from __future__ import annotations

import pydantic
import pytest
import torch

import condgen
from helpers import fake_digits
from condgen_mnist import MNISTConfig
from condgen_mnist.dataset import MNIST


def dataset(root, **options) -> MNIST:
    return MNIST(MNISTConfig(root=root, download=False, **options))


def test_train_split_is_uint8_pixels_with_one_hot_conditions(tiny_mnist) -> None:
    split = dataset(tiny_mnist).load("train")
    images, labels = fake_digits(200, seed=0)  # what conftest wrote
    assert len(split) == 200
    assert split.x.dtype == torch.uint8 and split.x.shape == (200, 1, 28, 28)
    assert torch.equal(split.x[:, 0], images)
    assert split.scale == pytest.approx(1 / 255)
    assert torch.equal(split.labels, labels)
    assert split.condition.shape == (200, 10)
    assert torch.equal(split.condition.argmax(1), labels)
    assert torch.equal(split.condition.sum(1), torch.ones(200))


def test_batches_are_floats_in_unit_range(tiny_mnist) -> None:
    split = dataset(tiny_mnist).load("test")
    assert len(split) == 100
    x, c = split.batch(torch.tensor([5, 0, 99]))
    assert x.dtype == torch.float32 and x.shape == (3, 1, 28, 28)
    assert torch.allclose(x, split.x[[5, 0, 99]].float() / 255)
    assert x.min() >= 0 and x.max() == 1.0  # the bars are 255
    assert c.tolist() == torch.nn.functional.one_hot(torch.tensor([5, 0, 9]), 10).float().tolist()


def test_limit_keeps_the_first_examples_of_each_split(tiny_mnist) -> None:
    full = dataset(tiny_mnist)
    limited = dataset(tiny_mnist, limit=30)
    for name in ("train", "test"):
        split = limited.load(name)
        assert len(split) == 30
        assert torch.equal(split.x, full.load(name).x[:30])
        assert torch.equal(split.labels, full.load(name).labels[:30])
    assert len(dataset(tiny_mnist, limit=10_000).load("train")) == 200  # more than there is: all of it


def test_limit_must_be_positive() -> None:
    with pytest.raises(pydantic.ValidationError):
        MNISTConfig(limit=0)


def test_shapes_are_known_without_the_files(tmp_path) -> None:
    data = dataset(tmp_path / "nowhere")
    assert data.x_shape == (1, 28, 28)
    assert data.condition_shape == (10,)
    assert data.num_classes == 10
    assert isinstance(data, condgen.LabelledDataset)


def test_preview_conditions_are_one_row_per_class(tiny_mnist) -> None:
    conditions = dataset(tiny_mnist).preview_conditions(3)
    assert conditions.shape == (30, 10)
    assert conditions.argmax(1).tolist() == [k for k in range(10) for _ in range(3)]


def test_conditions_for_labels_rejects_labels_outside_0_to_9(tiny_mnist) -> None:
    data = dataset(tiny_mnist)
    assert data.conditions_for_labels(torch.tensor([9, 0])).argmax(1).tolist() == [9, 0]
    with pytest.raises(condgen.UserError, match="MNIST labels are 0-9, got -1, 10."):
        data.conditions_for_labels(torch.tensor([3, 10, -1, 10]))


def test_splits_are_read_once(tiny_mnist) -> None:
    data = dataset(tiny_mnist)
    assert data.load("train") is data.load("train")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        data.load("valid")


def test_missing_files_explain_where_they_go(tmp_path) -> None:
    (tmp_path / "partial" / "MNIST" / "raw").mkdir(parents=True)
    (tmp_path / "partial" / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(condgen.DataError) as caught:
        dataset(tmp_path / "partial").load("train")
    error = caught.value
    assert str((tmp_path / "partial" / "MNIST" / "raw").resolve()) in error.message
    assert "download: false" in error.message
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        assert name in error.hint
    assert "CONDGEN_DATA_DIR" in error.hint


def test_root_that_is_a_file_is_a_data_error(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(condgen.DataError, match="is a file, not a folder"):
        dataset(tmp_path / "file").load("test")


def test_root_defaults_to_the_environment(tiny_mnist, monkeypatch) -> None:
    monkeypatch.setenv("CONDGEN_DATA_DIR", str(tiny_mnist))
    data = MNIST(MNISTConfig(download=False))
    assert data.root == tiny_mnist
    assert len(data.load("test")) == 100


def test_download_defaults_to_on() -> None:
    assert MNISTConfig().download is True
