"""What the training loop hands out at an epoch's end: sample grids, the metrics file.

The loop calls every callback at the same two points of each epoch's end
(under several processes, on rank 0 only); a callback does one job.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..evaluation import device_of
from .run_dir import RunDir


class Callback:
    """Both hooks do nothing unless overridden."""

    def epoch_end(self, epoch: int, row: dict[str, Any]) -> None:
        """Epoch ``epoch`` (from 1) is evaluated into ``row``; its checkpoint is not yet written, so random
        numbers drawn here are part of the RNG state it saves (a resumed run draws the same ones)."""

    def saved(self, history: list[dict[str, Any]]) -> None:
        """A checkpoint holding ``history`` (every finished epoch's row) is on disk."""


class SampleGrid(Callback):
    """A grid of samples each epoch: one row per preview condition of the dataset."""

    def __init__(self, model: nn.Module, dataset: Any, run: RunDir, per_row: int) -> None:
        self.model, self.dataset, self.run, self.per_row = model, dataset, run, per_row

    def epoch_end(self, epoch: int, row: dict[str, Any]) -> None:
        from .images import save_grid

        conditions = self.dataset.preview_conditions(self.per_row).to(device_of(self.model))
        self.model.eval()
        images = self.model.sample(conditions).cpu()
        self.model.train()
        save_grid(images, self.run.sample_path(epoch), self.per_row)


class MetricsFile(Callback):
    """``metrics.jsonl``, rewritten whole after each checkpoint, so it never runs ahead of one."""

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def saved(self, history: list[dict[str, Any]]) -> None:
        self.run.write_metrics(history)
