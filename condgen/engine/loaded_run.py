"""Open a finished (or interrupted) run for use: its recipe, dataset and trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..compose import build_model
from ..model import ConditionalVAE
from ..recipe import ResolvedRecipe, load_recipe
from .checkpoint import load_checkpoint
from .run_dir import RunDir, open_run_dir


@dataclass
class LoadedRun:
    run: RunDir
    resolved: ResolvedRecipe
    model: ConditionalVAE
    dataset: Any
    state: dict[str, Any]

    @property
    def epoch(self) -> int:
        return int(self.state.get("epoch", 0))


def load_run(path: Path) -> LoadedRun:
    """The run's model with its checkpoint's weights, in eval mode.

    The checkpoint must come from the recipe saved beside it: a recipe edited
    after training (or a checkpoint copied in from elsewhere) is refused, since
    its numbers would describe a different model.
    """
    run = open_run_dir(path)
    resolved = load_recipe(run.recipe)
    state = load_checkpoint(run.checkpoint)
    if state.get("recipe_digest") != resolved.digest():
        raise CheckpointError(
            f"The checkpoint in {str(run.path)!r} was not trained with the recipe saved beside it "
            f"({run.recipe.name} was edited, or the checkpoint comes from another run).",
            hint="Use the run folder as condgen wrote it.",
        )
    composed = build_model(resolved)
    try:
        composed.model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"The checkpoint of {str(run.path)!r} does not fit its recipe's model: {error}") from None
    composed.model.eval()
    return LoadedRun(run, resolved, composed.model, composed.dataset, state)
