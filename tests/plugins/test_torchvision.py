"""The ``torchvision`` dataset: torchvision's own readers on small files in each dataset's real on-disk format."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

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


# -- CelebA: a small one in torchvision's on-disk layout ----------------------------------------------------------


def write_celeba(root: Path, n: int = 12) -> torch.Tensor:
    """ROOT/celeba/img_align_celeba/NNNNNN.jpg (178x218, as CelebA's aligned faces) and the five annotation files
    in CelebA's own text format; the first 8 files are the train split, the rest the valid split (condgen's test).
    Returns the attributes as 0/1, one row per file."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    present = torch.rand(n, 40, generator=torch.Generator().manual_seed(0)) < 0.5
    present[:8, CELEBA_ATTRIBUTES.index("Smiling")] = torch.tensor([1, 1, 1, 0, 0, 0, 0, 0], dtype=torch.bool)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        Image.fromarray(np.full((218, 178, 3), 20 * i, dtype=np.uint8)).save(folder / "img_align_celeba" / name)

    def write(file: str, header: list[str] | None, rows: list[list[int]]) -> None:
        lines = ([str(n), " ".join(header)] if header else []) + [
            f"{name} " + " ".join(f"{v:2d}" for v in row) for name, row in zip(names, rows)
        ]
        (folder / file).write_text("\n".join(lines) + "\n")

    write("list_attr_celeba.txt", list(CELEBA_ATTRIBUTES), (present.long() * 2 - 1).tolist())  # -1 absent, 1 present
    write("list_eval_partition.txt", None, [[0 if i < 8 else 1] for i in range(n)])
    write("identity_CelebA.txt", None, [[i + 1] for i in range(n)])
    write("list_bbox_celeba.txt", "image_id x_1 y_1 width height".split(), [[95, 71, 226, 313]] * n)
    landmarks = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    write("list_landmarks_align_celeba.txt", landmarks.split(), [[69, 109, 106, 113, 77, 142, 73, 152, 108, 154]] * n)
    return present.long()


@pytest.fixture
def small_celeba(tmp_path, monkeypatch) -> tuple[Path, torch.Tensor]:
    """A small CelebA. torchvision checks CelebA's annotation files against the MD5s of the published ones
    (202,599 rows), which no small file can match: that check alone is switched off; its reader parses the files."""
    from condgen.compat import import_torchvision

    monkeypatch.setattr(import_torchvision().datasets.CelebA, "_check_integrity", lambda self: True)
    return tmp_path / "data", write_celeba(tmp_path / "data")


def test_celeba_attributes_are_the_condition_and_unset_ones_default_to_their_training_frequency(small_celeba) -> None:
    root, present = small_celeba
    celeba = dataset(root, "CelebA", size=[8, 8])
    train = celeba.load("train")
    assert train.x.shape == (8, 3, 8, 8) and torch.equal(train.condition, present[:8].float())
    assert torch.allclose(celeba.state_dict()["frequencies"], present[:8].double().mean(0))
    batch = condgen.conditions_for(celeba, condgen.ConditionRequest(attributes={"Smiling": 1, "Male": 0}, copies=2))
    expected = present[:8].float().mean(0)  # e.g. Smiling: 3 of the 8 training faces, 0.375
    expected[CELEBA_ATTRIBUTES.index("Smiling")], expected[CELEBA_ATTRIBUTES.index("Male")] = 1, 0
    assert batch.conditions.shape == (2, 40) and torch.allclose(batch.conditions[0], expected)
    assert any("38 attribute(s) not given are at their training frequency" in note for note in batch.notes)
    with pytest.raises(condgen.UserError) as caught:
        condgen.conditions_for(celeba, condgen.ConditionRequest(attributes={"Smilling": 1}))
    assert "no attribute 'Smilling'" in str(caught.value) and "Wearing_Necktie" in str(caught.value)
    assert caught.value.hint == "Did you mean 'Smiling'?"
    with pytest.raises(condgen.UserError, match="use --attr NAME=1"):
        condgen.conditions_for(celeba, condgen.ConditionRequest(labels=(3,)))


@pytest.mark.slow
def test_condgen_sample_sets_celeba_attributes_from_a_run_without_the_data(small_celeba, tmp_path, cli) -> None:
    root, _ = small_celeba
    recipe = tmp_path / "celeba.yaml"
    recipe.write_text(
        f"name: celeba\nseed: 0\ndata: {{name: torchvision, dataset: CelebA, root: {root}, download: false, size: [8, 8]}}\n"
        "model:\n  conditioner: {name: concat}\n  encoder: {name: mlp, hidden: [16], latent_dim: 2}\n"
        "  decoder: {name: mlp, hidden: [16]}\n  prior: {name: standard_normal}\n"
        f"trainer: {{epochs: 1, batch_size: 4, threads: 1}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    code, out, err = cli("run", recipe)
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    shutil.rmtree(root)  # the training frequencies come from the checkpoint
    code, out, err = cli("sample", run, "--attr", "Smiling=1", "--attr", "Male=0", "-n", "2", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert (tmp_path / "s.png").is_file() and "at their training frequency" in out
    code, out, err = cli("sample", run, "--attr", "Smilling=1", "-o", tmp_path / "t.png")
    assert code == 2 and "no attribute 'Smilling'" in err and "Did you mean 'Smiling'?" in err and "Young" in err
