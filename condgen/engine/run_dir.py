"""The run folder: everything a user needs to see what happened, without Python.

``runs/<recipe>-<timestamp>/`` holds ``recipe.yaml`` (resolved), ``run.json``
(status: running, finished, failed or interrupted), ``metrics.jsonl``,
``samples/epoch-NNN.png``, ``checkpoints/last.pt`` and (with a validation split) ``checkpoints/best.pt``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, OutputError
from . import atomic

RECIPE_FILE = "recipe.yaml"
STATUS_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT = Path("checkpoints") / "last.pt"
#: the weights of the epoch with the best validation score (runs with a validation split)
BEST_CHECKPOINT = Path("checkpoints") / "best.pt"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def best_checkpoint(self) -> Path:
        return self.path / BEST_CHECKPOINT

    @property
    def recipe(self) -> Path:
        return self.path / RECIPE_FILE

    @property
    def metrics(self) -> Path:
        return self.path / METRICS_FILE

    def sample_path(self, epoch: int) -> Path:
        return self.path / "samples" / f"epoch-{epoch:03d}.png"

    def write_status(self, status: str, **fields: Any) -> None:
        current = self.read_status()
        current.update(fields, status=status, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
        atomic.write_json(self.path / STATUS_FILE, current)

    def read_status(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / STATUS_FILE).read_text())
        except (OSError, ValueError):
            return {}



def create_run_dir(output_dir: Path, name: str) -> RunDir:
    """Make a fresh ``<output_dir>/<name>-<timestamp>`` folder with its subfolders."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"Cannot create the output folder {str(output_dir)!r}: {error.strerror or error}.") from None
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise OutputError(f"The output folder {str(output_dir)!r} is not writable.")
    for attempt in range(1000):
        path = output_dir / (f"{name}-{stamp}" if attempt == 0 else f"{name}-{stamp}-{attempt + 1}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"Cannot create the run folder {str(path)!r}: {error.strerror or error}.") from None
        (path / "samples").mkdir()
        (path / "checkpoints").mkdir()
        return RunDir(path)
    raise OutputError(f"Too many runs named {name!r} in {str(output_dir)!r} this second.")


def open_run_dir(path: Path) -> RunDir:
    """An existing run folder, checked to have a recipe and a checkpoint."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is not a run folder (it does not exist or is not a folder).")
    run = RunDir(path)
    if not run.recipe.is_file():
        raise CheckpointError(f"{str(path)!r} is not a run folder: it has no {RECIPE_FILE}.")
    if not run.checkpoint.is_file():
        raise CheckpointError(
            f"Run {str(path)!r} has no checkpoint ({CHECKPOINT}) yet: it stopped before its first one was saved."
        )
    return run
