"""``mlflow``: parameters, metrics and sample grids in an MLflow tracking store.

By default the store is a local folder (``<run>/mlruns``), which works offline
and needs only ``mlflow-skinny``. MLflow 3 keeps that file store in maintenance
mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE`` is set, so this logger
sets it (when unset) for the default store only; ``tracking_uri`` points at any
other store (``sqlite:///mlflow.db`` with the full ``mlflow`` package, a server).
A resumed run continues the same MLflow run (its id is kept in the run folder).
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch

import condgen

from .config import MlflowConfig

RUN_ID_FILE = "mlflow_run_id"
NOT_CURVES = frozenset({"epoch", "step", "wall_time"})




class MlflowLogger:
    def __init__(self, config: MlflowConfig, context: condgen.BuildContext) -> None:
        self.config = config
        self.client = None
        self.run_id: str | None = None

    def start(self, run: condgen.RunInfo) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as error:
            raise condgen.PluginError(
                f"The mlflow logger needs the mlflow package ({error}).", hint="pip install 'condgen[mlflow]'"
            ) from None
        uri = self.config.tracking_uri
        if uri is None:
            uri = (run.path / "mlruns").resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        id_file = run.path / RUN_ID_FILE
        if run.step and id_file.is_file():
            self.run_id = id_file.read_text().strip()
            self.client.update_run(self.run_id, status="RUNNING")
            return
        experiment = self.client.get_experiment_by_name(self.config.experiment)
        experiment_id = (
            experiment.experiment_id if experiment is not None else self.client.create_experiment(self.config.experiment)
        )
        self.run_id = self.client.create_run(experiment_id, run_name=run.path.name).info.run_id
        id_file.write_text(self.run_id + "\n")
        from mlflow.entities import Param

        params = [Param(key, str(value)[:6000]) for key, value in _flatten(run.recipe).items()]
        for start in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[start : start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        rows = [
            Metric(key, float(value), now, step)
            for key, value in metrics.items()
            if key not in NOT_CURVES and isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
        self.client.log_batch(self.run_id, metrics=rows)

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        from torchvision.utils import make_grid

        grid = make_grid(images.clamp(0, 1), nrow=max(1, int(len(images) ** 0.5)), padding=2)
        array = (grid.permute(1, 2, 0).mul(255).round().to(torch.uint8)).numpy()
        self.client.log_image(self.run_id, array, artifact_file=f"{tag}/step-{step:07d}.png")

    def finish(self, status: str) -> None:
        if self.client is not None and self.run_id is not None:
            mlflow_status = {"finished": "FINISHED", "interrupted": "KILLED"}.get(status, "FAILED")
            self.client.set_terminated(self.run_id, status=mlflow_status)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"encoder": {"hidden": [512]}}}`` -> ``{"model.encoder.hidden": [512]}``."""
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): data}
