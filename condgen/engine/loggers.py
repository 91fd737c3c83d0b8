"""The run's loggers, called from the training loop: the run folder's ``jsonl`` first, then the recipe's.

The ``jsonl`` logger writes metrics.jsonl, the run folder's record that
``compare``, sweeps and resumes read, so it always runs and its failures (a
full disk) stop the run like any other write to the run folder. A logger the
recipe adds (TensorBoard, MLflow, a plugin's) is a guest: the first time it
raises, one warning names it and the error, and the run goes on without it.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ..protocols import BuildContext, Logger, RunInfo
from ..recipe import ResolvedRecipe
from ..registry import Part

RECORD = "jsonl"


class LoggerWarning(UserWarning):
    """A logger failed and was dropped; the run went on."""


class Loggers:
    """Fans each call out to every logger; the ``jsonl`` record first and unguarded."""

    def __init__(self, record: Logger, guests: dict[str, Logger]) -> None:
        self.record = record
        self.guests = dict(guests)

    @classmethod
    def for_recipe(cls, resolved: ResolvedRecipe) -> Loggers:
        context = BuildContext()
        record = resolved.plugins.registry.get("logger", RECORD)
        guests: dict[str, Logger] = {}
        for index, block in enumerate(resolved.recipe.loggers):
            if block.name == RECORD:  # it always runs; naming it changes nothing
                continue
            guests[f"{block.name} (loggers[{index}])"] = resolved.part("loggers", index).build(context)
        return cls(Part(record, record.config.model_validate({})).build(context), guests)

    def start(self, run: RunInfo) -> None:
        self.record.start(run)
        self._each("start", run)

    def log_metrics(self, metrics: dict[str, Any], step: int) -> None:
        self.record.log_metrics(metrics, step)
        self._each("log_metrics", metrics, step)

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        self.record.log_images(tag, images, step)
        self._each("log_images", tag, images, step)

    def finish(self, status: str) -> None:
        self.record.finish(status)
        self._each("finish", status)

    def _each(self, method: str, *args: Any) -> None:
        for name, logger in list(self.guests.items()):
            try:
                getattr(logger, method)(*args)
            except Exception as error:  # a guest never stops the run
                del self.guests[name]
                message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
                warnings.warn(
                    f"The {name} logger failed in {method} and is switched off for the rest of this run: {message}",
                    LoggerWarning,
                    stacklevel=2,
                )
