"""The ``__NAME__`` logger: each epoch's numbers as a row of a CSV file in the run folder.

A logger receives the run (``start``), one row of numbers per epoch
(``log_metrics``), the epoch's sample grid (``log_images``) and the run's end
(``finish``). If it raises, condgen warns once and the run goes on without it.
"""

from __future__ import annotations

import csv

import torch
from pydantic import Field

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in its ``loggers`` entry."""

    file: str = Field("metrics.csv", min_length=1, max_length=200, description="CSV file in the run folder")


class __CLASS__:
    """Appends one CSV row per epoch; the header is the first row's keys."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        self.config = config
        self.path = None
        self.columns: list[str] | None = None

    def start(self, run: condgen.RunInfo) -> None:
        self.path = run.path / self.config.file

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        new = not self.path.exists()
        if self.columns is None:
            self.columns = ["step", *metrics]
        with self.path.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({"step": step, **metrics})

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        """A CSV holds no images: the run folder's samples/ has them."""

    def finish(self, status: str) -> None:
        pass


@condgen.hookimpl
def register_components(register):
    register("logger", "__NAME__", __CLASS__, __CLASS__Config)
