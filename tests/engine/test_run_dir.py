"""Run folders: creation, the output-folder checks, and reopening for --resume."""

from __future__ import annotations

import json
import re

import pytest

from condgen.engine.run_dir import RunDir, create_run_dir, open_run_dir
from condgen.engine.session import check_output_dir
from condgen.errors import CheckpointError, OutputError
from helpers import locked_folder, needs_permissions


def test_run_folder_is_named_after_the_recipe_and_time(tmp_path) -> None:
    run = create_run_dir(tmp_path / "runs" / "nested", "mnist_cvae")
    assert run.path.parent == tmp_path / "runs" / "nested"  # missing parents are created
    assert re.fullmatch(r"mnist_cvae-\d{8}-\d{6}", run.path.name)
    assert sorted(p.name for p in run.path.iterdir()) == ["checkpoints", "samples"]
    assert run.checkpoint == run.path / "checkpoints" / "last.pt"
    assert run.sample_path(7) == run.path / "samples" / "epoch-007.png"


def test_runs_started_in_the_same_second_get_distinct_folders(tmp_path) -> None:
    paths = [create_run_dir(tmp_path, "same").path for _ in range(3)]
    assert len(set(paths)) == 3
    assert all(p.name.startswith("same-") for p in paths)


def test_output_folder_under_a_regular_file_is_refused(tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(blocker / "runs")
    with pytest.raises(OutputError, match="Cannot create the output folder"):
        create_run_dir(blocker / "runs", "x")
    assert blocker.read_text() == ""


@needs_permissions(covered_by=test_output_folder_under_a_regular_file_is_refused)
def test_read_only_output_folder_is_refused(tmp_path) -> None:
    with locked_folder(tmp_path / "locked") as locked:
        with pytest.raises(OutputError, match="not writable"):
            check_output_dir(locked / "runs")
        with pytest.raises(OutputError):
            create_run_dir(locked, "x")
    assert list(locked.iterdir()) == []


def test_writable_output_folder_passes_the_check(tmp_path) -> None:
    check_output_dir(tmp_path / "does" / "not" / "exist" / "yet")
    assert not (tmp_path / "does").exists()  # checking creates nothing


def test_status_updates_merge_fields(tmp_path) -> None:
    run = create_run_dir(tmp_path, "s")
    assert run.read_status() == {}
    run.write_status("running", epochs=5)
    run.write_status("finished", epoch=5)
    status = json.loads((run.path / "run.json").read_text())
    assert status["status"] == "finished" and status["epochs"] == 5 and status["epoch"] == 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", status["updated"])


def test_a_status_field_given_as_none_is_removed(tmp_path) -> None:
    run = create_run_dir(tmp_path, "s")
    run.write_status("interrupted", epoch=1, step_in_epoch=7)
    run.write_status("finished", epoch=2, step_in_epoch=None)
    assert "step_in_epoch" not in run.read_status() and run.read_status()["epoch"] == 2


def test_open_run_dir_explains_what_is_missing(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist or is not a folder"):
        open_run_dir(tmp_path / "nope")
    run = create_run_dir(tmp_path, "r")
    with pytest.raises(CheckpointError, match="has no recipe.yaml"):
        open_run_dir(run.path)
    run.recipe.write_text("name: r\n")
    with pytest.raises(CheckpointError, match="has no checkpoint"):
        open_run_dir(run.path)
    run.checkpoint.write_bytes(b"")
    assert open_run_dir(run.path) == RunDir(run.path)
