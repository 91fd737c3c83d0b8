"""Data and output faults: damaged IDX files, a data root that is a file, output that
cannot be written or runs out of room. Each is one clear message and exit code 2,
and nothing half-written is left behind."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condgen.engine.checkpoint import load_checkpoint
from helpers import RAW_NAMES, locked_folder, needs_permissions

TRAIN_IMAGES, TRAIN_LABELS = RAW_NAMES["train"]
TEST_IMAGES, TEST_LABELS = RAW_NAMES["test"]


def truncated(name: str, keep: int | None = None):
    def damage(raw: Path) -> None:
        data = (raw / name).read_bytes()
        (raw / name).write_bytes(data[: len(data) // 2 if keep is None else keep])

    return damage


def magic(name: str, value: int):
    def damage(raw: Path) -> None:
        data = bytearray((raw / name).read_bytes())
        data[:4] = struct.pack(">I", value)
        (raw / name).write_bytes(bytes(data))

    return damage


def fewer_labels(raw: Path) -> None:
    data = (raw / TEST_LABELS).read_bytes()
    (raw / TEST_LABELS).write_bytes(struct.pack(">II", 0x801, 60) + data[8 : 8 + 60])


def label_out_of_range(raw: Path) -> None:
    data = bytearray((raw / TRAIN_LABELS).read_bytes())
    data[8 + 17] = 200
    (raw / TRAIN_LABELS).write_bytes(bytes(data))


def images_swapped_for_labels(raw: Path) -> None:
    shutil.copy(raw / TRAIN_LABELS, raw / TRAIN_IMAGES)


def wrong_image_size(raw: Path) -> None:
    data = bytearray((raw / TEST_IMAGES).read_bytes())
    data[8:16] = struct.pack(">II", 14, 56)  # same byte count, other shape
    (raw / TEST_IMAGES).write_bytes(bytes(data))


def random_bytes(raw: Path) -> None:
    (raw / TRAIN_IMAGES).write_bytes(random.Random(0).randbytes(5000))  # seeded: the same garbage every run


@pytest.mark.parametrize(
    "damage, file, expected",
    [
        (truncated(TRAIN_IMAGES), TRAIN_IMAGES, "is truncated"),
        (truncated(TRAIN_IMAGES, keep=7), TRAIN_IMAGES, "shorter than its 16-byte IDX header"),
        (truncated(TEST_LABELS), TEST_LABELS, "is truncated"),
        (truncated(TEST_LABELS, keep=0), TEST_LABELS, "0 bytes"),
        (magic(TRAIN_IMAGES, 0x00000D03), TRAIN_IMAGES, "magic number is 0x00000d03"),
        (images_swapped_for_labels, TRAIN_IMAGES, "magic number is 0x00000801"),
        (random_bytes, TRAIN_IMAGES, "is corrupted"),
        (wrong_image_size, TEST_IMAGES, "items of shape (14, 56)"),
        (fewer_labels, TEST_LABELS, "60 labels for 100 images"),
        (label_out_of_range, TRAIN_LABELS, "label 200 at position 17"),
    ],
    ids=[
        "truncated-images",
        "truncated-header",
        "truncated-labels",
        "empty-labels",
        "bad-magic",
        "labels-as-images",
        "random-bytes",
        "wrong-image-size",
        "fewer-labels",
        "label-out-of-range",
    ],
)
def test_damaged_idx_file_is_named_and_no_run_folder_is_made(tiny_recipe, tiny_mnist, tmp_path, cli, damage, file, expected):
    raw = tiny_mnist / "MNIST" / "raw"
    damage(raw)

    code, _, err = cli("run", tiny_recipe)

    assert code == 2
    assert "Traceback" not in err
    assert f"The MNIST file {str(raw / file)!r} is corrupted" in err
    assert expected in err
    assert not (tmp_path / "runs").exists()


def test_data_root_that_is_a_file(tiny_recipe, tmp_path, cli):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    code, _, err = cli("run", tiny_recipe, f"data.root={blocker}")
    assert code == 2 and "Traceback" not in err
    assert "is a file, not a folder" in err and str(blocker) in err
    assert not (tmp_path / "runs").exists()
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("where", ["below-a-file", "is-a-file"])
def test_output_folder_that_cannot_be_made(tiny_recipe, tmp_path, cli, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    out = blocker / "runs" if where == "below-a-file" else blocker
    code, _, err = cli("run", tiny_recipe, f"output.dir={out}")
    assert code == 2 and "Traceback" not in err
    assert "is a file" in err and str(blocker) in err
    assert blocker.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "data", "tiny.yaml"]


@needs_permissions(covered_by=test_output_folder_that_cannot_be_made)
def test_output_folder_without_write_permission(tiny_recipe, tmp_path, cli):
    with locked_folder(tmp_path / "locked") as locked:
        code, _, err = cli("run", tiny_recipe, f"output.dir={locked}")
    assert code == 2 and "not writable" in err
    assert list(locked.iterdir()) == []


# -- running out of room ----------------------------------------------------------
# RLIMIT_FSIZE makes the kernel refuse to grow any file past the limit (EFBIG),
# exactly where a full disk would refuse (ENOSPC): a real failed write, not a mock.

FILE_SIZE_LIMIT = 200_000  # recipe.yaml, run.json and a sample grid fit; a ~640 kB checkpoint does not


def run_with_file_size_limit(*args: object) -> subprocess.CompletedProcess:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "condgen", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def assert_nothing_half_written(run: Path) -> None:
    debris = [p.relative_to(run) for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert not debris, debris
    yaml.safe_load((run / "recipe.yaml").read_text())
    json.loads((run / "run.json").read_text())
    for png in run.glob("samples/*.png"):
        assert png.read_bytes().endswith(b"IEND\xaeB`\x82"), png


@pytest.mark.slow
def test_a_checkpoint_that_does_not_fit_is_a_clear_error_with_no_partial_file(tiny_recipe, tmp_path):
    done = run_with_file_size_limit("run", tiny_recipe, "trainer.threads=1")

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "last.pt" in done.stderr and "File too large" in done.stderr
    assert "previous version of the file is intact" in done.stderr
    run = next((tmp_path / "runs").iterdir())
    assert not (run / "checkpoints" / "last.pt").exists()
    assert_nothing_half_written(run)
    status = json.loads((run / "run.json").read_text())
    assert status["status"] == "failed" and "File too large" in status["error"]


@pytest.mark.slow
def test_running_out_of_room_mid_run_keeps_the_previous_checkpoint_intact(tiny_recipe, tmp_path, cli):
    code, _, err = cli("run", tiny_recipe, "trainer.epochs=1", "trainer.threads=1")
    assert code == 0, err
    run = next((tmp_path / "runs").iterdir())
    checkpoint = run / "checkpoints" / "last.pt"
    before = checkpoint.read_bytes()
    assert len(before) > FILE_SIZE_LIMIT

    done = run_with_file_size_limit("run", "--resume", run, "--force", "trainer.epochs=2")

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "File too large" in done.stderr
    assert checkpoint.read_bytes() == before
    assert load_checkpoint(checkpoint)["epoch"] == 1
    assert_nothing_half_written(run)
