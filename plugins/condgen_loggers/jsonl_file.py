"""``jsonl``: one JSON object per epoch in the run folder's metrics.jsonl.

The file is rewritten whole (atomically) each epoch from the rows so far, so a
run killed between a checkpoint and the metrics write, then resumed, ends with
exactly the rows of one that never stopped. ``condgen compare``, sweeps and
resumes read this file: every run writes it, listed in ``loggers`` or not.
"""

from __future__ import annotations

import json
from typing import Any

import torch

import condgen
from condgen.engine.atomic import write_text
from condgen.engine.run_dir import METRICS_FILE

from .config import JsonlConfig


class JsonlLogger:
    def __init__(self, config: JsonlConfig, context: condgen.BuildContext) -> None:
        self.rows: list[dict[str, Any]] = []
        self.path = None

    def start(self, run: condgen.RunInfo) -> None:
        self.path = run.path / METRICS_FILE
        self.rows = [dict(row) for row in run.rows]

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.rows.append(dict(metrics))
        self.write()

    def write(self) -> None:
        write_text(self.path, "".join(json.dumps(row) + "\n" for row in self.rows))

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        """Images live in the run folder's samples/ already."""

    def finish(self, status: str) -> None:
        if self.rows:  # a run killed between its last checkpoint and the metrics write catches up here
            self.write()
