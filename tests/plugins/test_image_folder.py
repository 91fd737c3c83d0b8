"""The ``image_folder`` dataset: real image files on disk, class folders, a conditions table, a decode cache."""

from __future__ import annotations

import csv
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pydantic
import pytest
import torch
from PIL import Image

import condgen
from condgen_image_folder import CACHE_FOLDER, ImageFolderConfig
from condgen_image_folder.dataset import build
from condgen.registry import SAVED_RUN

from helpers import write_image_folder


def config(root: Path, **options) -> ImageFolderConfig:
    options.setdefault("size", [28, 28])
    options.setdefault("mode", "L")
    return ImageFolderConfig(root=root, **options)


def dataset(root: Path, **options):
    return build(config(root, **options), condgen.BuildContext())


def png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def pool(root: Path, classes=("cat", "dog"), per_class: int = 10, size=(28, 28)) -> Path:
    """ROOT/<class>/<i>.png without train/ and test/: class k's images are all of value 40 * (k + 1) + i."""
    for k, name in enumerate(classes):
        for i in range(per_class):
            png(root / name / f"{i:02d}.png", np.full(size, 40 * (k + 1) + i, dtype=np.uint8))
    return root


def write_table(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


# -- labels and splits -----------------------------------------------------------------------------------------


def test_class_folders_become_one_hot_labels_and_the_pixels_are_the_files_bytes(tiny_image_folder) -> None:
    data = dataset(tiny_image_folder)
    assert data.class_names == ("class0", "class1", "class2")
    assert data.x_shape == (1, 28, 28) and data.condition_shape == (3,) and data.num_classes == 3
    train = data.load("train")
    assert train.x.dtype == torch.uint8 and train.x.shape == (len(train), 1, 28, 28)
    first = sorted((tiny_image_folder / "train" / "class0").iterdir())[0]
    assert torch.equal(train.x[0, 0], torch.from_numpy(np.array(Image.open(first))))
    assert train.files[0] == f"train/class0/{first.name}"
    assert torch.equal(train.condition.argmax(1), train.labels)
    x, c = train.batch(torch.tensor([0, 1]))
    assert x.dtype == torch.float32 and x.max() <= 1 and torch.allclose(x, train.x[:2].float() / 255)


def test_the_class_names_are_the_datasets_checkpoint_state_not_the_recipes(tiny_image_folder, tmp_path) -> None:
    trained = dataset(tiny_image_folder)
    assert config(tiny_image_folder).classes is None  # the recipe is left as the user wrote it
    saved = tmp_path / "state.pt"
    torch.save(trained.state_dict(), saved)
    state = torch.load(saved, weights_only=True)  # plain data: checkpoints load without pickle code
    assert state["classes"] == ["class0", "class1", "class2"]
    # A saved run's recipe is read without the folder; the state gives back what the condition needs.
    options = {"root": str(tiny_image_folder / "gone"), "size": [28, 28], "mode": "L"}
    opened = build(ImageFolderConfig.model_validate(options, context=SAVED_RUN), condgen.BuildContext())
    opened.load_state_dict(state)
    assert opened.class_names == trained.class_names and opened.condition_shape == (3,) and opened.num_classes == 3
    assert opened.conditions_for(torch.tensor([2])).tolist() == [[0.0, 0.0, 1.0]]
    with pytest.raises(pydantic.ValidationError, match="does not exist"):  # a recipe about to train is checked
        ImageFolderConfig.model_validate(options)


def test_a_recipe_from_an_earlier_condgen_with_statistics_in_it_is_refused_saying_why(tiny_image_folder) -> None:
    options = {"root": str(tiny_image_folder), "classes": ["class0", "class1"], "statistics": None}
    with pytest.raises(pydantic.ValidationError, match="written by an earlier condgen.*Train the run again"):
        ImageFolderConfig.model_validate(options, context=SAVED_RUN)


def test_a_checkpoint_for_other_classes_than_the_recipe_names_is_refused(tiny_image_folder) -> None:
    state = dataset(tiny_image_folder).state_dict()
    other = dataset(tiny_image_folder, classes=["class2", "class0"])
    with pytest.raises(condgen.CheckpointError, match="classes are \\['class0', 'class1', 'class2'\\]"):
        other.load_state_dict(state)


def test_a_resumed_run_keeps_its_classes_when_a_class_folder_is_added(tiny_image_folder) -> None:
    state = dataset(tiny_image_folder).state_dict()
    png(tiny_image_folder / "train" / "class9" / "0.png", np.zeros((28, 28), dtype=np.uint8))
    png(tiny_image_folder / "test" / "class9" / "0.png", np.zeros((28, 28), dtype=np.uint8))
    resumed = dataset(tiny_image_folder)
    resumed.load_state_dict(state)
    assert resumed.condition_shape == (3,) and not any("class9" in f for f in resumed.load("train").files)


def test_a_recipe_may_pick_and_order_a_subset_of_the_classes(tiny_image_folder) -> None:
    data = dataset(tiny_image_folder, classes=["class2", "class0"])
    assert data.class_names == ("class2", "class0")
    assert {name.split("/")[1] for name in data.load("test").files} == {"class2", "class0"}
    with pytest.raises(pydantic.ValidationError, match=r"The classes bird \(data.classes, or a resumed run's\) have no folder"):
        dataset(tiny_image_folder, classes=["class0", "bird"])


def test_without_train_and_test_folders_a_seeded_fraction_of_each_class_is_held_out(tmp_path) -> None:
    root = pool(tmp_path / "pool")
    a, b = dataset(root, test_fraction=0.2), dataset(root, test_fraction=0.2)
    test = a.load("test")
    assert len(test) == 4 and sorted(test.labels.tolist()) == [0, 0, 1, 1]  # 20% of 10 per class
    assert test.files == b.load("test").files  # same seed, same files
    assert set(test.files).isdisjoint(a.load("train").files) and len(a.load("train")) == 16
    assert dataset(root, test_fraction=0.2, split_seed=1).load("test").files != test.files


def test_rgb_and_other_sizes_are_resized_and_centre_cropped(tmp_path) -> None:
    root = tmp_path / "wide"
    for name in ("a", "b"):
        pixels = np.zeros((20, 40, 3), dtype=np.uint8)
        pixels[:, 10:30] = (255, 0, 0)  # a red square in the middle of a black 40x20 image
        for i in range(3):
            png(root / name / f"{i}.png", pixels)
    data = dataset(root, size=[8, 8], mode="RGB", test_fraction=0.34)
    x = data.load("train").x
    assert data.x_shape == (3, 8, 8) and x.shape[1:] == (3, 8, 8)
    # Scaled to cover 8x8 (8x16) and cropped to the middle: the red square fills it.
    assert (x[:, 0] > 200).all() and (x[:, 1:] < 30).all()


# -- the decode cache --------------------------------------------------------------------------------------------


def test_pixels_are_decoded_once_and_read_from_the_cache_afterwards(tiny_image_folder) -> None:
    first = dataset(tiny_image_folder).load("train")
    cached = list((tiny_image_folder / CACHE_FOLDER).glob("*.npy"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = dataset(tiny_image_folder).load("train")
    assert torch.equal(again.x, first.x) and cached[0].stat().st_mtime_ns == mtime


def test_a_changed_file_makes_a_new_cache_entry_with_its_new_pixels(tiny_image_folder) -> None:
    dataset(tiny_image_folder).load("train")
    target = sorted((tiny_image_folder / "train" / "class1").iterdir())[0]
    png(target, np.full((28, 28), 7, dtype=np.uint8))
    os.utime(target, ns=(1, 1))  # a different mtime, whatever the clock's resolution
    split = dataset(tiny_image_folder).load("train")
    assert (split.x[split.files.index(f"train/class1/{target.name}")] == 7).all()
    assert len(list((tiny_image_folder / CACHE_FOLDER).glob("*.npy"))) == 2


def test_a_corrupt_cache_file_is_decoded_again_not_trusted(tiny_image_folder) -> None:
    expected = dataset(tiny_image_folder).load("train").x.clone()
    (cached,) = (tiny_image_folder / CACHE_FOLDER).glob("*.npy")
    cached.write_bytes(cached.read_bytes()[:200])
    assert torch.equal(dataset(tiny_image_folder).load("train").x, expected)


def test_above_the_memory_limit_a_split_is_memory_mapped_with_the_same_batches(tiny_image_folder, capsys) -> None:
    in_memory = dataset(tiny_image_folder).load("train")
    mapped = dataset(tiny_image_folder, memory_limit_mb=0).load("train")  # 0: always memory-mapped
    assert mapped.mapped and not in_memory.mapped
    index = torch.tensor([3, 0, 7])
    for a, b in zip(mapped.batch(index), in_memory.batch(index)):
        assert torch.equal(a, b)
    assert "over the in-memory limit of 0 MB: memory-mapped" in capsys.readouterr().err


# -- a conditions table ----------------------------------------------------------------------------------------


def test_table_attributes_are_standardised_with_training_statistics_kept_in_the_checkpoint_state(tmp_path) -> None:
    root = pool(tmp_path / "pool", per_class=5)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    write_table(root / "c.csv", [["file", "size", "note"], *[[f, str(i), f"caption {i}"] for i, f in enumerate(files)]])
    cfg = config(root, conditions="c.csv", caption="note", test_fraction=0.2)
    data = build(cfg, condgen.BuildContext())
    assert data.attribute_names == ("size",) and data.condition_shape == (3,)  # two classes + one attribute
    train = data.load("train")
    sizes = torch.tensor([float(files.index(f)) for f in train.files])
    stats = data.state().statistics["size"]
    assert data.state_dict()["statistics"]["size"]["mean"] == stats.mean
    assert stats.mean == pytest.approx(sizes.mean().item()) and stats.std == pytest.approx(sizes.std(unbiased=False).item())
    assert torch.allclose(train.condition[:, 2], (sizes - stats.mean) / stats.std)
    assert train.captions[0] == f"caption {files.index(train.files[0])}"
    # Natural units in, standardised condition out; unnamed attributes at the training median.
    row = data.conditions_for(torch.tensor([1]), {"size": stats.mean + stats.std})
    assert row.tolist() == [[0.0, 1.0, pytest.approx(1.0)]]
    with pytest.raises(condgen.UserError, match="no attribute 'weight'; its attributes: size"):
        data.conditions_for(torch.tensor([0]), {"weight": 1.0})


def test_a_table_missing_files_or_with_extra_rows_lists_them_unless_skipped(tmp_path, capsys) -> None:
    root = pool(tmp_path / "pool", per_class=3)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    write_table(root / "c.csv", [["file", "v"], *[[f, str(i)] for i, f in enumerate(files[1:])], ["ghost.png", "1"]])
    with pytest.raises(pydantic.ValidationError) as caught:
        config(root, conditions="c.csv")
    message = str(caught.value)
    assert f"1 image(s) have no row: {files[0]}" in message and "1 row(s) name no image in the folder: ghost.png (line 7)" in message
    data = dataset(root, conditions="c.csv", on_error="skip", test_fraction=0.34)
    used = data.load("train").files + data.load("test").files
    assert files[0] not in used and len(used) == 5
    assert "left out" in capsys.readouterr().err


def test_a_non_numeric_attribute_column_is_refused_with_its_line(tmp_path) -> None:
    root = pool(tmp_path / "pool", per_class=2)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    write_table(root / "c.csv", [["file", "colour"], *[[f, "red" if i == 2 else "1"] for i, f in enumerate(files)]])
    with pytest.raises(pydantic.ValidationError, match=r"column 'colour' is not numeric \('red' on line 4\)"):
        config(root, conditions="c.csv", test_fraction=0.5)


def test_empty_caption_cells_are_listed(tmp_path) -> None:
    root = pool(tmp_path / "pool", per_class=2)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    write_table(root / "c.csv", [["file", "text"], *[[f, "" if i == 1 else "a digit"] for i, f in enumerate(files)]])
    with pytest.raises(pydantic.ValidationError, match=rf"1 row\(s\) have empty cells: {files[1]} \(line 3: empty text\)"):
        config(root, conditions="c.csv", caption="text", test_fraction=0.5)


# -- bad folders and files ---------------------------------------------------------------------------------------


def test_an_empty_folder_says_where_images_should_go(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(pydantic.ValidationError, match="holds no images for the train split"):
        config(tmp_path / "empty")
    with pytest.raises(pydantic.ValidationError, match="does not exist"):
        config(tmp_path / "nowhere")


def test_one_class_conditions_nothing_and_is_refused(tmp_path) -> None:
    root = pool(tmp_path / "pool", classes=("only",))
    with pytest.raises(pydantic.ValidationError, match="one class folder \\('only'\\)"):
        config(root)


def test_mixed_sizes_are_resized_and_said_once(tiny_image_folder, capsys) -> None:
    png(tiny_image_folder / "train" / "class0" / "big.png", np.zeros((50, 60), dtype=np.uint8))
    png(tiny_image_folder / "test" / "class1" / "big.png", np.zeros((50, 60), dtype=np.uint8))
    data = dataset(tiny_image_folder)
    assert data.load("train").x.shape[1:] == (1, 28, 28) and data.load("test").x.shape[1:] == (1, 28, 28)
    err = capsys.readouterr().err
    assert err.count("sizes") == 1 and "the train images come in 2 sizes (28x28, 60x50)" in err


def test_a_symlink_loop_is_refused_naming_it(tmp_path) -> None:
    root = pool(tmp_path / "pool")
    os.symlink(root / "cat", root / "cat" / "again")
    with pytest.raises(pydantic.ValidationError, match="symbolic link loop at .*again"):
        config(root)


def _huge_png(path: Path, width: int, height: int) -> Path:
    """A 1x1 grey PNG whose header claims width x height: tiny on disk, refused before decoding."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b""))
    return path


def test_images_over_max_pixels_are_refused_from_the_header(tiny_image_folder) -> None:
    _huge_png(tiny_image_folder / "train" / "class0" / "wide.png", 3000, 2000)
    with pytest.raises(condgen.DataError, match=r"wide.png: 3000x2000 pixels, over max_pixels=5000000 \(refused"):
        dataset(tiny_image_folder, max_pixels=5_000_000).load("train")


def test_unreadable_and_oversized_files_are_listed_by_path_or_skipped(tiny_image_folder, capsys) -> None:
    (tiny_image_folder / "train" / "class1" / "broken.png").write_bytes(b"not an image")
    _huge_png(tiny_image_folder / "train" / "class0" / "bomb.png", 20000, 20000)
    with pytest.raises(condgen.DataError) as caught:
        dataset(tiny_image_folder).load("train")
    message = str(caught.value)
    assert "2 file(s) in" in message and "cannot be used" in message
    # PIL's own limit (89 megapixels, so a bomb's 400) or ours (max_pixels) refuses it from the header alone.
    assert "train/class0/bomb.png: " in message and "400000000 pixels" in message and "(refused from its header)" in message
    assert "train/class1/broken.png: not a readable image" in message
    skipped = dataset(tiny_image_folder, on_error="skip").load("train")
    assert len(skipped) == 60 and not {"train/class0/bomb.png", "train/class1/broken.png"} & set(skipped.files)
    assert "2 unreadable file(s) left out (on_error: skip)" in capsys.readouterr().err


def test_label_names_reach_the_condition_through_condgen_sample(tmp_path, cli) -> None:
    root = write_image_folder(tmp_path / "images")
    recipe = tmp_path / "folder.yaml"
    recipe.write_text(
        f"name: folder\nseed: 0\ndata: {{name: image_folder, root: {root}, size: [28, 28], mode: L}}\n"
        "model:\n  conditioner: {name: concat}\n  encoder: {name: mlp, hidden: [16], latent_dim: 2}\n"
        "  decoder: {name: mlp, hidden: [16]}\n  prior: {name: standard_normal}\n"
        f"trainer: {{epochs: 1, batch_size: 20}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    code, out, err = cli("run", recipe)
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    assert "classes: null" in (run / "recipe.yaml").read_text()  # the names are in the checkpoint
    os.rename(root, tmp_path / "moved")  # the run alone must know the names
    code, out, err = cli("sample", run, "--label", "class2", "--label", "0", "-n", "2", "-o", tmp_path / "s.png")
    assert code == 0, err
    code, out, err = cli("sample", run, "--label", "clas2", "-o", tmp_path / "t.png")
    assert code == 2 and "no class 'clas2'. Did you mean 'class2'" in err


def test_attributes_in_natural_units_reach_the_condition_through_condgen_sample(tmp_path, cli) -> None:
    root = pool(tmp_path / "pool", per_class=5)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    write_table(root / "c.csv", [["file", "size"], *[[f, str(i)] for i, f in enumerate(files)]])
    recipe = tmp_path / "folder.yaml"
    recipe.write_text(
        f"name: folder\nseed: 0\ndata: {{name: image_folder, root: {root}, size: [28, 28], mode: L, "
        "conditions: c.csv, test_fraction: 0.2}\n"
        "model:\n  conditioner: {name: concat}\n  encoder: {name: mlp, hidden: [16], latent_dim: 2}\n"
        "  decoder: {name: mlp, hidden: [16]}\n  prior: {name: standard_normal}\n"
        f"trainer: {{epochs: 1, batch_size: 4}}\noutput: {{dir: {tmp_path / 'runs'}}}\n"
    )
    assert cli("run", recipe)[0] == 0
    (run,) = (tmp_path / "runs").iterdir()
    os.rename(root, tmp_path / "moved")  # the statistics come from the checkpoint, not the folder
    code, out, err = cli("sample", run, "--label", "dog", "--attr", "size=40", "-n", "2", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert "size=40 is outside the training range" in out and "the model extrapolates" in out
    code, out, err = cli("sample", run, "--attr", "weight=1", "-o", tmp_path / "t.png")
    assert code == 2 and "no attribute 'weight'; its attributes: size" in err
