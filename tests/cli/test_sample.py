"""``condgen sample``: PNG grids from a run's checkpoint."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def run(tiny_recipe, cli) -> Path:
    code, out, err = cli("run", tiny_recipe, "trainer.epochs=1")
    assert code == 0, err
    (path,) = (tiny_recipe.parent / "runs").iterdir()
    return path


def test_label_grid_is_written_where_asked(run, cli, tmp_path) -> None:
    target = tmp_path / "grid.png"
    code, out, err = cli("sample", run, "--label", "7", "-n", "64", "-o", target)
    assert code == 0, err
    assert "Wrote 64 images" in out
    assert png_size(target) == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 grid of 28px images, 2px padding
    Image = pytest.importorskip("PIL.Image")
    with Image.open(target) as image:
        image.load()
        assert image.size == (242, 242)


@pytest.mark.slow
def test_several_labels_give_one_row_each(run, cli, tmp_path) -> None:
    target = tmp_path / "rows.png"
    code, out, err = cli("sample", run, "--label", "1", "--label", "2", "-n", "3", "-o", target)
    assert code == 0, err
    assert png_size(target) == (3 * 30 + 2, 2 * 30 + 2)


@pytest.mark.slow
def test_default_output_is_a_preview_in_the_run_folder(run, cli) -> None:
    code, out, err = cli("sample", run, "-n", "16")
    assert code == 0, err
    target = run / "samples" / "sample-preview-seed0.png"
    assert png_size(target) == (16 * 30 + 2, 10 * 30 + 2)  # one row of 16 per class


# (labels, -n or None for the default) -> (images, grid columns, grid rows); 28px images, 2px padding.
COMBINATIONS = {
    ((), None): (100, 10, 10),  # the preview: 10 per class, a row per class
    ((), "1"): (10, 1, 10),
    ((), "3"): (30, 3, 10),
    (("7",), None): (10, 4, 3),  # one label: its 10 images in a square-ish grid, ceil(sqrt(10)) = 4 wide
    (("7",), "1"): (1, 1, 1),
    (("7",), "5"): (5, 3, 2),
    (("1", "2"), "3"): (6, 3, 2),  # several labels: a row of 3 per label
    (("1", "2", "3"), None): (30, 10, 3),
}


@pytest.mark.slow
@pytest.mark.parametrize(("labels", "count"), list(COMBINATIONS))
def test_n_is_images_per_label_in_every_combination(run, cli, tmp_path, labels, count) -> None:
    images, columns, rows = COMBINATIONS[labels, count]
    target = tmp_path / "grid.png"
    options = [arg for label in labels for arg in ("--label", label)] + (["-n", count] if count else [])
    code, out, err = cli("sample", run, *options, "-o", target)
    assert code == 0, err
    assert f"Wrote {images} image{'s' if images > 1 else ''} to {target}" in out
    # torchvision draws a single image without the grid's padding
    assert png_size(target) == ((28, 28) if images == 1 else (columns * 30 + 2, rows * 30 + 2))


def test_help_says_what_n_counts(cli) -> None:
    code, out, err = cli("sample", "--help")
    assert code == 0
    assert "Images per label" in out and "default: 10" in out


def test_seed_makes_samples_reproducible(run, cli, tmp_path) -> None:
    paths = [tmp_path / f"{name}.png" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (5, 5, 6)):
        assert cli("sample", run, "--label", "3", "-n", "9", "--seed", seed, "-o", path)[0] == 0
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b and a != c


@pytest.mark.slow
def test_sampling_does_not_need_the_dataset(run, cli, tmp_path, tiny_mnist) -> None:
    shutil.rmtree(tiny_mnist)
    code, out, err = cli("sample", run, "--label", "0", "-n", "4", "-o", tmp_path / "x.png")
    assert code == 0, err


@pytest.mark.slow
@pytest.mark.parametrize("label", ["10", "-1"])
def test_bad_label_exits_2_and_writes_nothing(run, cli, tmp_path, label) -> None:
    target = tmp_path / "bad.png"
    code, out, err = cli("sample", run, "--label", label, "-n", "1000", "-o", target)
    assert code == 2
    assert "MNIST labels are 0-9" in err and label in err
    assert len(err) < 300  # names the bad label once, not once per image
    assert "Traceback" not in out + err
    assert not target.exists()


def test_missing_run_or_output_folder_exits_2(run, cli, tmp_path) -> None:
    code, out, err = cli("sample", tmp_path / "no-run", "--label", "1")
    assert code == 2 and "is not a run folder" in err
    code, out, err = cli("sample", run, "--label", "1", "-o", tmp_path / "missing" / "x.png")
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "missing").exists()


def test_count_must_be_positive(run, cli) -> None:
    code, out, err = cli("sample", run, "-n", "0")
    assert code == 2
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ("--seed", str(2**70)),
        ("--seed", "-1"),
        ("--label", str(2**70)),
    ],
    ids=["huge-seed", "negative-seed", "huge-label"],
)
def test_out_of_range_integers_exit_2(trained_run, cli, tmp_path, args) -> None:
    code, _, err = cli("sample", trained_run, *args, "-o", tmp_path / "x.png")
    assert code == 2 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", ["sample", "eval", "inpaint"])
@pytest.mark.parametrize(
    "path", ["runs/" + "r" * 300, "/" + "/".join(["d" * 200] * 25), "runs/a\0b"], ids=["long-name", "long-path", "nul"]
)
def test_a_run_path_no_filesystem_can_hold_exits_2(cli, command, path) -> None:
    code, _, err = cli(command, path)
    assert code == 2 and "Traceback" not in err
    assert "not a usable path" in err


def test_an_output_path_no_filesystem_can_hold_exits_2(trained_run, cli) -> None:
    code, _, err = cli("sample", trained_run, "-o", "grids/" + "g" * 300 + ".png")
    assert code == 2 and "not a usable path" in err
