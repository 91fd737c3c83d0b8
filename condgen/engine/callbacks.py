"""What the training loop hands out at an epoch's end: sample grids, rows to the loggers (metrics.jsonl first).

The loop calls every callback at the same two points of each epoch's end
(under several processes, on rank 0 only); a callback does one job.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..evaluation import device_of
from ..protocols import RunInfo
from .loggers import Loggers
from .run_dir import RunDir


class Callback:
    """Both hooks do nothing unless overridden."""

    def epoch_end(self, epoch: int, row: dict[str, Any]) -> None:
        """Epoch ``epoch`` (from 1) is evaluated into ``row``; its checkpoint is not yet written, so random
        numbers drawn here are part of the RNG state it saves (a resumed run draws the same ones)."""

    def saved(self, history: list[dict[str, Any]]) -> None:
        """A checkpoint holding ``history`` (every finished epoch's row) is on disk."""


class SampleGrid(Callback):
    """A grid of samples for each saved epoch: one row per preview condition of the dataset; the loggers get it too.

    Drawn after the epoch's checkpoint, on a fork of the RNG: training draws the same numbers with or
    without the grid, and a resume that redraws a missing grid draws the same one.
    """

    def __init__(self, model: nn.Module, dataset: Any, run: RunDir, per_row: int, loggers: Loggers | None = None):
        self.model, self.dataset, self.run, self.per_row = model, dataset, run, per_row
        self.loggers = loggers

    def saved(self, history: list[dict[str, Any]]) -> None:
        from .images import save_grid

        path = self.run.sample_path(len(history))
        if not history or path.exists():
            return
        device = device_of(self.model)
        conditions = self.dataset.preview_conditions(self.per_row).to(device)
        was_training = self.model.training
        self.model.eval()
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            images = self.model.sample(conditions).cpu()
        self.model.train(was_training)
        save_grid(images, path, self.per_row)
        if self.loggers is not None:
            self.loggers.log_images("samples", images, history[-1]["step"])


class LoggerFeed(Callback):
    """Each checkpointed epoch's row to the loggers (metrics.jsonl first), so they never run ahead of a
    checkpoint; rows a resumed run already had were handed over in ``Loggers.start``."""

    def __init__(self, loggers: Loggers) -> None:
        self.loggers = loggers
        self.logged = 0

    def start(self, run: RunInfo) -> None:
        self.loggers.start(run)
        self.logged = len(run.rows)

    def saved(self, history: list[dict[str, Any]]) -> None:
        for row in history[self.logged :]:
            self.loggers.log_metrics(row, row["step"])
        self.logged = len(history)
