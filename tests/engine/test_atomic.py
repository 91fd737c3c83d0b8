"""Atomic writes: a reader sees the old file or the new one, and no debris is left."""

from __future__ import annotations

import pytest
import torch

from condgen.engine import atomic
from condgen.engine.checkpoint import save_checkpoint
from condgen.errors import OutputError


def test_write_replaces_the_content_and_leaves_only_the_file(tmp_path) -> None:
    target = tmp_path / "status.json"
    target.write_text("old")
    atomic.write_json(target, {"status": "finished", "epoch": 3})
    assert target.read_text() == '{\n  "status": "finished",\n  "epoch": 3\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_temporary_file_is_beside_the_target_so_the_rename_is_atomic(tmp_path) -> None:
    target = tmp_path / "out.txt"
    with atomic.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("new")
        assert not target.exists()  # nothing visible until the block succeeds
    assert target.read_text() == "new"


def test_failure_midway_keeps_the_old_content_and_no_temp_file(tmp_path) -> None:
    target = tmp_path / "metrics.jsonl"
    target.write_text("line 1\n")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic.atomic_path(target) as tmp:
            with open(tmp, "w") as handle:
                handle.write("line 1\nline 2 (half")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "line 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


def test_os_error_while_writing_becomes_an_output_error(tmp_path) -> None:
    target = tmp_path / "recipe.yaml"
    target.write_text("old: 1\n")
    with pytest.raises(OutputError, match="Cannot write") as caught:
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("new: 1\n")
            raise OSError(28, "No space left on device")
    assert str(target) in caught.value.message and "No space left" in caught.value.message
    assert target.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["recipe.yaml"]


def test_missing_folder_is_an_output_error_and_creates_nothing(tmp_path) -> None:
    with pytest.raises(OutputError, match="Cannot write in"):
        atomic.write_text(tmp_path / "absent" / "file.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_that_fails_to_serialise_leaves_the_previous_one(tmp_path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "weights": torch.arange(3.0)})
    with pytest.raises(Exception):
        # torch.save has written part of the archive when it reaches the lambda.
        save_checkpoint(path, {"epoch": 2, "weights": torch.arange(1000.0), "bad": lambda: None})
    state = torch.load(path, weights_only=True)  # the bytes of the first save (not a full run's checkpoint)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
