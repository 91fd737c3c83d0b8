"""Model selection on the validation split: which epoch is best, and when to stop early.

Checkpointed with the run (``state``/``restore``), so a resumed run knows its
best epoch and how many epochs have passed without improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..recipe.schema import EarlyStoppingSection

#: the score that selects: lower is better
METRIC = "val_elbo"


@dataclass
class Selection:
    early_stopping: EarlyStoppingSection | None = None
    best_score: float = math.inf
    best_epoch: int = 0
    stale_epochs: int = 0

    def update(self, row: dict[str, Any]) -> bool:
        """Record an epoch's row; True when it is the best so far (its weights become best.pt)."""
        score = float(row[METRIC])
        margin = self.early_stopping.min_delta if self.early_stopping is not None else 0.0
        if score < self.best_score - margin or (self.best_epoch == 0 and math.isfinite(score)):
            self.best_score, self.best_epoch, self.stale_epochs = score, int(row["epoch"]), 0
            return True
        self.stale_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.early_stopping is not None and self.stale_epochs >= self.early_stopping.patience

    def state(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "stale_epochs": self.stale_epochs}

    def restore(self, state: dict[str, Any]) -> None:
        self.best_score = float(state["best_score"])
        self.best_epoch = int(state["best_epoch"])
        self.stale_epochs = int(state["stale_epochs"])

    def summary(self) -> dict[str, Any]:
        """What run.json records about the selection."""
        return {"best_epoch": self.best_epoch, "best_val_elbo": self.best_score, "stopped_early": self.should_stop}
