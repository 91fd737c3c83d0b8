"""Shared dataset helpers: where the data root is, and tensor-resident splits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from condgen.data import (
    DATA_DIR_ENV,
    DEFAULT_DATA_DIR,
    TensorSplit,
    download_failure,
    removed_on_failure,
    resolve_data_root,
)


def test_recipe_root_wins_over_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert resolve_data_root(tmp_path / "from-recipe") == tmp_path / "from-recipe"


def test_environment_is_used_when_the_recipe_has_no_root(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert resolve_data_root(None) == tmp_path / "from-env"
    assert resolve_data_root("") == tmp_path / "from-env"


def test_default_is_data_in_the_working_directory(monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_root(None) == DEFAULT_DATA_DIR == Path("data")


def test_home_is_expanded(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_data_root("~/mnist") == tmp_path / "mnist"


def test_split_batches_by_index_and_scales_uint8_pixels() -> None:
    x = torch.tensor([[0, 255], [51, 102], [204, 153]], dtype=torch.uint8)
    condition = torch.tensor([[1, 0], [0, 1], [1, 1]], dtype=torch.uint8)
    split = TensorSplit(x, condition, scale=1 / 255)
    assert len(split) == 3
    xb, cb = split.batch(torch.tensor([2, 0]))
    assert xb.dtype == torch.float32 and cb.dtype == torch.float32
    torch.testing.assert_close(xb, torch.tensor([[0.8, 0.6], [0.0, 1.0]]))
    torch.testing.assert_close(cb, torch.tensor([[1.0, 1.0], [1.0, 0.0]]))
    # Batching never changes the stored data.
    assert split.x.dtype == torch.uint8 and split.x[0, 1] == 255


def test_split_without_scale_returns_values_unchanged() -> None:
    split = TensorSplit(torch.tensor([[2.5], [-1.0]]), torch.zeros(2, 1))
    xb, _ = split.batch(torch.tensor([1, 0]))
    assert xb.tolist() == [[-1.0], [2.5]]


def test_split_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="x has 3 examples but condition has 2"):
        TensorSplit(torch.zeros(3, 1), torch.zeros(2, 1))


def test_a_failing_block_removes_only_the_folders_it_created(tmp_path) -> None:
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        with removed_on_failure(tmp_path / "kept" / "new" / "raw"):
            (tmp_path / "kept" / "new" / "raw").mkdir(parents=True)
            (tmp_path / "kept" / "new" / "raw" / "part.gz").write_bytes(b"half")
            raise RuntimeError("download failed")
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "new").exists()
    with removed_on_failure(tmp_path / "kept" / "ok"):  # success keeps what the block made
        (tmp_path / "kept" / "ok").mkdir()
    assert (tmp_path / "kept" / "ok").is_dir()


@pytest.mark.parametrize(
    ("message", "words"),
    [
        # torchvision's own message, whose first line ends at a bare colon
        (
            "Error downloading train-images-idx3-ubyte.gz:\nTried https://a/, got:\n"
            "<urlopen error [Errno -3] Temporary failure in name resolution>\n",
            "the server's name could not be looked up (no DNS: this machine looks offline)",
        ),
        ("Tried x, got:\n<urlopen error [Errno 101] Network is unreachable>", "no network route to the server"),
        ("Error downloading x:\nTried y, got:\nHTTP Error 404: Not Found\n", "HTTP Error 404: Not Found"),
        ("Error downloading x:\n", "RuntimeError, with no detail"),
    ],
)
def test_download_failures_are_explained_in_words(message, words) -> None:
    assert words in download_failure(RuntimeError(message))
