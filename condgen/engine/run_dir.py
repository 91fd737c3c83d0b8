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
from ..fields import path_problem
from . import atomic

RECIPE_FILE = "recipe.yaml"
STATUS_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT = Path("checkpoints") / "last.pt"
EVAL_FILE = "eval.json"
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

    @property
    def evaluation(self) -> Path:
        """``condgen eval``'s numbers for the checkpoint it found (stale once the run trains further)."""
        return self.path / EVAL_FILE

    def sample_path(self, epoch: int) -> Path:
        return self.path / "samples" / f"epoch-{epoch:03d}.png"

    def write_status(self, status: str, **fields: Any) -> None:
        """Merge ``fields`` into run.json; a field given as ``None`` is removed (it no longer applies)."""
        current = self.read_status()
        current.update(fields, status=status, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
        for key in [key for key, value in fields.items() if value is None]:
            del current[key]
        atomic.write_json(self.path / STATUS_FILE, current)

    def read_status(self) -> dict[str, Any]:
        """What ``run.json`` holds: ``{}`` when there is none yet; a damaged one is an error, never overwritten."""
        path = self.path / STATUS_FILE
        if not path.exists():
            return {}
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            status = error
        if not isinstance(status, dict):
            what = f"cannot be read ({status})" if isinstance(status, Exception) else f"holds {_kind(status)}"
            raise CheckpointError(
                f"{str(path)!r} {what}, not the run's status (a JSON object).",
                hint=f"Delete {STATUS_FILE} (condgen writes a new one) if the run folder is otherwise as condgen left it.",
            )
        return status

    def reached_epoch(self) -> int:
        """The last epoch this run recorded (run.json or metrics.jsonl), for messages about what is missing."""
        try:
            epoch = self.read_status().get("epoch")
        except CheckpointError:
            epoch = None
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            try:
                epoch = sum(1 for line in self.metrics.read_text(encoding="utf-8").splitlines() if line.strip())
            except (OSError, ValueError):
                epoch = 0
        return max(epoch, 0)



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


def _kind(value: Any) -> str:
    return "null" if value is None else f"a JSON {type(value).__name__}"


def open_run_dir(path: Path) -> RunDir:
    """An existing run folder, checked to have a recipe and a checkpoint."""
    path = Path(path)
    problem = path_problem(path)
    if problem is not None:
        raise CheckpointError(f"{str(path)[:80]!r} cannot be a run folder: {problem}.")
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is not a run folder (it does not exist or is not a folder).")
    run = RunDir(path)
    if not run.recipe.is_file():
        raise CheckpointError(f"{str(path)!r} is not a run folder: it has no {RECIPE_FILE}.")
    if not run.checkpoint.is_file():
        raise CheckpointError(_missing_checkpoint(run))
    return run


def _missing_checkpoint(run: RunDir) -> str:
    where = f"Run {str(run.path)!r}"
    if run.checkpoint.exists():
        return f"{where}: {CHECKPOINT} is not a file."
    epoch = run.reached_epoch()
    if epoch:
        return (
            f"{where} reached epoch {epoch}, but it has no checkpoint now: {CHECKPOINT} was deleted or moved "
            "since it was saved, so there is nothing to continue from or sample."
        )
    return f"{where} has no checkpoint ({CHECKPOINT}) yet: it stopped before its first one was saved."
