"""Open a finished (or interrupted) run for use: its recipe, dataset and trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conditions import restore_dataset_state
from ..errors import CheckpointError
from ..model import ConditionalVAE, build_model
from ..recipe import ResolvedRecipe, load_recipe
from .open_run import check_run, edited_recipe_error
from .run_dir import RunDir


@dataclass
class LoadedRun:
    run: RunDir
    resolved: ResolvedRecipe
    model: ConditionalVAE
    dataset: Any
    state: dict[str, Any]

    @property
    def epoch(self) -> int:
        return self.state["epoch"]


def load_run(path: Path, *, allow_plugins: bool = False) -> LoadedRun:
    """The run's model with its checkpoint's weights, in eval mode.

    The checkpoint must come from the recipe saved beside it: a recipe edited
    after training (or a checkpoint copied in from elsewhere) is refused, since
    its numbers would describe a different model. Both are checked before any
    plugin is imported; a plugin module the recipe names is imported only with
    ``allow_plugins`` (see :mod:`condgen.engine.open_run`).
    """
    checked = check_run(path)
    run, state = checked.run, checked.state
    if not checked.recipe_is_the_checkpoints:
        raise edited_recipe_error(run)
    checked.allow_plugins(allow_plugins)
    resolved = load_recipe(run.recipe)
    if state["recipe_digest"] != resolved.digest():
        raise edited_recipe_error(run)
    composed = build_model(resolved)
    try:
        composed.model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"The checkpoint of {str(run.path)!r} does not fit its recipe's model: {error}") from None
    composed.model.eval()
    restore_dataset_state(composed.dataset, state.get("dataset"))
    return LoadedRun(run, resolved, composed.model, composed.dataset, state)
