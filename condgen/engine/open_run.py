"""Open an existing run folder as data: every check happens before any code it names is imported.

A run folder may come from anyone (a download, a colleague, a shared disk).
Its checkpoint is loaded without pickle code, its checksum and structure are
checked, and its ``recipe.yaml`` must be the recipe the checkpoint recorded,
all before a plugin is imported. Then only installed plugins load; a module
the recipe names (``plugins: [helper.py]``) is code, imported only when the
user allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..plugins import local_plugins
from ..recipe import recipe_digest
from ..recipe.yaml_lines import read_yaml_file
from .checkpoint import load_checkpoint
from .run_dir import RunDir, open_run_dir

ALLOW_FLAG = "--allow-plugins"


@dataclass(frozen=True)
class CheckedRun:
    """A run folder whose checkpoint and recipe passed every check; nothing of it imported yet."""

    run: RunDir
    state: dict[str, Any]
    #: ``recipe.yaml`` as YAML data (not validated: that needs the plugins)
    recipe_data: Any

    @property
    def recipe_is_the_checkpoints(self) -> bool:
        """Whether ``recipe.yaml`` is the recipe the checkpoint recorded (so it was not edited or swapped)."""
        try:
            return recipe_digest(self.recipe_data) == self.state["recipe_digest"] == recipe_digest(self.state["recipe"])
        except (TypeError, ValueError):  # YAML data JSON cannot hold (dates, ...): not what condgen wrote
            return False

    def plugin_specs(self) -> list[str]:
        specs = self.recipe_data.get("plugins") if isinstance(self.recipe_data, dict) else None
        return [spec for spec in specs if isinstance(spec, str)] if isinstance(specs, list) else []

    def allow_plugins(self, allowed: bool) -> None:
        """Refuse, naming the module and the flag, a recipe that would import code the user did not install."""
        local = local_plugins(self.plugin_specs())
        if local and not allowed:
            names = ", ".join(repr(spec) for spec in local)
            raise CheckpointError(
                f"The recipe of run {str(self.run.path)!r} names the plugin module(s) {names}: code from the run "
                "folder, which condgen does not import when it opens a run folder.",
                hint=f"If you trust whoever made this run folder, pass {ALLOW_FLAG} to import it.",
            )


def check_run(path: Path, checkpoint: str = "last") -> CheckedRun:
    """The run folder's structure, a checkpoint (readable, checksummed, well-formed; ``last`` or ``best``) and
    its recipe's YAML."""
    run = open_run_dir(path)
    state = load_checkpoint(run.best_checkpoint if checkpoint == "best" else run.checkpoint)
    data, _ = read_yaml_file(run.recipe)
    return CheckedRun(run, state, data)


def edited_recipe_error(run: RunDir) -> CheckpointError:
    return CheckpointError(
        f"The checkpoint in {str(run.path)!r} was not trained with the recipe saved beside it "
        f"({run.recipe.name} was edited, or the checkpoint comes from another run).",
        hint="Use the run folder as condgen wrote it.",
    )


__all__ = ["ALLOW_FLAG", "CheckedRun", "check_run", "edited_recipe_error"]
