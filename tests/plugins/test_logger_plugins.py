"""The built-in loggers, with the real libraries: metrics.jsonl, TensorBoard event files, an MLflow file store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from condgen.plugins import load_plugins
from condgen.protocols import BuildContext, RunInfo
from condgen.registry import Part
from condgen.testing import check_component

RECIPE = {"name": "tiny", "seed": 3, "model": {"encoder": {"name": "mlp", "hidden": [32]}}}
ROWS = [
    {"epoch": 1, "step": 10, "train_loss": 150.25, "test_elbo": 149.5, "wall_time": 1.0},
    {"epoch": 2, "step": 20, "train_loss": 120.75, "test_elbo": 121.0, "wall_time": 2.0},
]


def build(name: str, **options):
    component = load_plugins().registry.get("logger", name)
    return Part(component, component.config.model_validate(options)).build(BuildContext())


def drive(logger, folder: Path, rows=ROWS, *, start_step: int = 0, before=()) -> None:
    logger.start(RunInfo(folder, "tiny", RECIPE, tuple(before), start_step))
    for row in rows:
        logger.log_metrics(row, row["step"])
        logger.log_images("samples", torch.full((4, 1, 28, 28), row["epoch"] / 4), row["step"])
    logger.finish("finished")


@pytest.mark.parametrize("name", ["jsonl", "tensorboard", pytest.param("mlflow", marks=pytest.mark.slow)])
def test_each_built_in_logger_passes_the_plugin_test_kit(name) -> None:
    report = check_component("logger", name)
    assert "satisfies the logger protocol" in report.passed


def test_jsonl_writes_one_object_per_row_and_keeps_the_rows_before_a_resume(tmp_path) -> None:
    drive(build("jsonl"), tmp_path, ROWS[1:], start_step=10, before=ROWS[:1])
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows == ROWS


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}, events


def test_tensorboard_writes_event_files_that_tensorboard_reads_back(tmp_path) -> None:
    drive(build("tensorboard"), tmp_path)
    curves, events = scalars(tmp_path / "tensorboard")
    assert curves["test_elbo"] == [(10, 149.5), (20, 121.0)]
    assert curves["train_loss"] == [(10, 150.25), (20, 120.75)]
    assert "epoch" not in curves and "wall_time" not in curves  # bookkeeping, not curves
    assert [image.step for image in events.Images("samples")] == [10, 20]


def test_a_resumed_tensorboard_run_drops_the_events_after_its_checkpoint(tmp_path) -> None:
    # The first process logged steps 10 and 20, then died; its checkpoint was at step 10.
    drive(build("tensorboard"), tmp_path)
    drive(build("tensorboard"), tmp_path, [{**ROWS[1], "test_elbo": 119.0}], start_step=10, before=ROWS[:1])
    curves, _ = scalars(tmp_path / "tensorboard")
    assert curves["test_elbo"] == [(10, 149.5), (20, 119.0)]


def test_mlflow_logs_params_metrics_images_and_status_to_a_local_file_store(tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    drive(build("mlflow", experiment="offline"), tmp_path)
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    run_id = (tmp_path / "mlflow_run_id").read_text().strip()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["seed"] == "3" and run.data.params["model.encoder.hidden"] == "[32]"
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "test_elbo")] == [(10, 149.5), (20, 121.0)]
    assert client.get_experiment(run.info.experiment_id).name == "offline"
    images = [f.path for f in client.list_artifacts(run_id, "samples")]
    assert images == ["samples/step-0000010.png", "samples/step-0000020.png"]


def test_a_resumed_mlflow_run_continues_the_same_mlflow_run(tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    drive(build("mlflow"), tmp_path, ROWS[:1])
    first = (tmp_path / "mlflow_run_id").read_text()
    drive(build("mlflow"), tmp_path, ROWS[1:], start_step=10, before=ROWS[:1])
    assert (tmp_path / "mlflow_run_id").read_text() == first
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    assert len(client.get_metric_history(first.strip(), "test_elbo")) == 2
