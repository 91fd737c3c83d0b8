"""Open a finished (or interrupted) run for use: its recipe, dataset and trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..compose import build_model
from ..errors import CheckpointError, UserError
from ..model import ConditionalVAE
from ..recipe import ResolvedRecipe, load_recipe
from .open_run import check_run, edited_recipe_error
from .run_dir import RunDir, open_run_dir


@dataclass
class LoadedRun:
    run: RunDir
    resolved: ResolvedRecipe
    model: ConditionalVAE
    dataset: Any
    state: dict[str, Any]
    #: which checkpoint the weights came from: ``best`` (checkpoints/best.pt) or ``last``
    checkpoint: str = "last"
    #: ``ema`` when the moving average of the weights was loaded (``trainer.ema``), else ``trained``
    weights: str = "trained"

    @property
    def epoch(self) -> int:
        return self.state["epoch"]

    @property
    def source(self) -> str:
        """Where the weights came from, as the commands that use them say it."""
        average = " (the moving average of the weights, trainer.ema)" if self.weights == "ema" else ""
        return f"the {self.checkpoint} checkpoint{average}"


CHECKPOINTS = ("best", "last")


def load_run(path: Path, checkpoint: str | None = None, *, allow_plugins: bool = False) -> LoadedRun:
    """The run's model with a checkpoint's weights, in eval mode: ``best`` (by the validation score) or
    ``last``; by default best when the run has one. The moving average of the weights when it kept one.

    The checkpoint must come from the recipe saved beside it: a recipe edited
    after training (or a checkpoint copied in from elsewhere) is refused, since
    its numbers would describe a different model. Both are checked before any
    plugin is imported; a plugin module the recipe names is imported only with
    ``allow_plugins`` (see :mod:`condgen.engine.open_run`).
    """
    folder = open_run_dir(path)
    if checkpoint is None:
        checkpoint = "best" if folder.best_checkpoint.is_file() else "last"
    if checkpoint not in CHECKPOINTS:
        raise UserError(f"Unknown checkpoint {checkpoint!r}: use best or last.")
    if checkpoint == "best" and not folder.best_checkpoint.is_file():
        raise CheckpointError(
            f"Run {str(folder.path)!r} has no best checkpoint: only a run with a validation split "
            "(data.validation) keeps one.",
            hint="Use --checkpoint last.",
        )
    checked = check_run(path, checkpoint)
    run, state = checked.run, checked.state
    if not checked.recipe_is_the_checkpoints:
        raise edited_recipe_error(run)
    checked.allow_plugins(allow_plugins)
    resolved = load_recipe(run.recipe, saved_run=True)  # the data need not be here: its state is in the checkpoint
    if state["recipe_digest"] != resolved.digest():
        raise edited_recipe_error(run)
    composed = build_model(resolved, state.get("dataset"), check_memory=False)  # its weights are loaded already
    weights = "ema" if "ema" in state else "trained"
    try:
        composed.model.load_state_dict(state["ema"]["weights"] if weights == "ema" else state["model"])
    except (KeyError, RuntimeError, TypeError) as error:
        raise CheckpointError(f"The checkpoint of {str(run.path)!r} does not fit its recipe's model: {error}") from None
    composed.model.eval()
    return LoadedRun(run, resolved, composed.model, composed.dataset, state, checkpoint, weights)
