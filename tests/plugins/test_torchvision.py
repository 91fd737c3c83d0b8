"""The ``torchvision`` dataset: torchvision's own readers on small files in each dataset's real on-disk format."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import condgen
from condgen_torchvision import TorchvisionConfig
from condgen_torchvision.datasets import CELEBA_ATTRIBUTES, build

from helpers import fake_digits, write_idx_images, write_idx_labels


def write_idx_dataset(root: Path, folder: str, names: dict[str, tuple[str, str]], n: int = 40, first: int = 0) -> Path:
    """torchvision's raw layout: ROOT/<folder>/raw/<IDX files>; the labels are the fake digits' plus ``first``."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for split, (images_name, labels_name) in names.items():
        images, labels = fake_digits(n, seed=0 if split == "train" else 1)
        write_idx_images(raw / images_name, images)
        write_idx_labels(raw / labels_name, labels + first)
    return root


MNIST_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def dataset(root: Path, name: str, **options):
    return build(TorchvisionConfig(dataset=name, root=root, download=False, **options), condgen.BuildContext())


@pytest.mark.parametrize("name", ["FashionMNIST", "KMNIST"])
def test_mnist_like_datasets_are_read_by_torchvision_into_uint8_tensors(tmp_path, name) -> None:
    root = write_idx_dataset(tmp_path, name, MNIST_NAMES)
    data = dataset(root, name)
    assert isinstance(data, condgen.LabelledDataset) and data.num_classes == 10
    split = data.load("train")
    images, labels = fake_digits(40, seed=0)
    assert split.x.dtype == torch.uint8 and torch.equal(split.x[:, 0], images)
    assert torch.equal(split.condition.argmax(1), labels) and len(data.load("test")) == 40


def test_fashion_mnist_classes_have_names_for_condgen_sample() -> None:
    data = build(TorchvisionConfig(dataset="FashionMNIST", root="/nowhere"), condgen.BuildContext())
    assert data.class_names[7] == "Sneaker" and data.x_shape == (1, 28, 28) and data.condition_shape == (10,)


def test_emnist_images_are_transposed_back_and_letters_start_at_zero(tmp_path) -> None:
    names = {
        split: (f"emnist-letters-{split}-images-idx3-ubyte", f"emnist-letters-{split}-labels-idx1-ubyte")
        for split in ("train", "test")
    }
    root = write_idx_dataset(tmp_path, "EMNIST", names, first=1)  # letters' labels on disk are 1 (a) to 26 (z)
    data = dataset(root, "EMNIST", emnist_split="letters")
    assert data.num_classes == 26 and data.class_names[0] == "a"
    split = data.load("train")
    images, labels = fake_digits(40, seed=0)
    assert torch.equal(split.x[:, 0], images.transpose(1, 2))
    assert torch.equal(split.labels, labels)


def test_shapes_are_known_without_the_files() -> None:
    for name, shape, condition in (("CIFAR10", (3, 32, 32), (10,)), ("SVHN", (3, 32, 32), (10,)), ("CelebA", (3, 64, 64), (40,))):
        data = build(TorchvisionConfig(dataset=name, root="/nowhere"), condgen.BuildContext())
        assert data.x_shape == shape and data.condition_shape == condition
    celeba = build(TorchvisionConfig(dataset="CelebA", size=[32, 32]), condgen.BuildContext())
    assert celeba.x_shape == (3, 32, 32) and celeba.attribute_names == tuple(CELEBA_ATTRIBUTES)
    assert not isinstance(celeba, condgen.LabelledDataset) and celeba.preview_conditions(2).shape == (16, 40)


@pytest.mark.parametrize("name", ["FashionMNIST", "CIFAR10", "SVHN", "CelebA"])
def test_missing_files_without_download_say_where_to_put_them(tmp_path, name) -> None:
    with pytest.raises(condgen.DataError, match=f"{name} is not in .* and downloading is switched off"):
        dataset(tmp_path, name).load("train")
