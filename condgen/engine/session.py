"""Start or resume a run: everything ``condgen run`` does besides printing.

All checks that can fail on user input (recipe, plugins, data, output folder)
happen before the run folder is created, so a failed start leaves nothing that
looks like a run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, OutputError, UserError
from ..recipe import ResolvedRecipe, load_recipe
from .checkpoint import load_checkpoint
from .run_dir import RunDir, create_run_dir, open_run_dir
from .trainer import Interrupted, Trainer


def check_output_dir(output_dir: Path) -> None:
    probe = output_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"The output folder {str(output_dir)!r} cannot be created: {str(probe)!r} is a file.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"The output folder {str(output_dir)!r} is not writable (no write access to {str(probe)!r}).")


def start_run(resolved: ResolvedRecipe, reporter: Any) -> tuple[RunDir, list[dict]]:
    check_output_dir(resolved.recipe.output.dir)
    trainer = Trainer(resolved, None, reporter)
    run = create_run_dir(resolved.recipe.output.dir, resolved.recipe.name)
    from .atomic import write_text

    write_text(run.recipe, resolved.to_yaml())
    trainer.run = run
    return run, _fit(trainer)


def resume_run(
    run_path: Path,
    reporter: Any,
    *,
    recipe_path: Path | None = None,
    overrides: list[str] = (),
    force: bool = False,
) -> tuple[RunDir, list[dict]]:
    run = open_run_dir(run_path)
    resolved = load_recipe(recipe_path or run.recipe, overrides)
    state = load_checkpoint(run.checkpoint)
    if state.get("recipe_digest") != resolved.digest() and not force:
        changed = _changed_keys(state.get("recipe", {}), resolved.to_dict())
        raise CheckpointError(
            f"The recipe differs from the one {str(run.path)!r} was trained with"
            + (f" (changed: {', '.join(changed)})." if changed else "."),
            hint="Resume with the same recipe, or pass --force to continue with the new one.",
        )
    trainer = Trainer(resolved, run, reporter)
    trainer.restore(state)
    if force:
        from .atomic import write_text

        write_text(run.recipe, resolved.to_yaml())
    return run, _fit(trainer)


def _fit(trainer: Trainer) -> list[dict]:
    run = trainer.run
    run.write_status("running", epochs=trainer.recipe.trainer.epochs)
    try:
        history = trainer.fit()
    except Interrupted:
        run.write_status("interrupted", epoch=trainer.epoch, step_in_epoch=trainer.step_in_epoch)
        raise
    except BaseException as error:
        message = error.message if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        run.write_status("failed", error=message, epoch=trainer.epoch)
        raise
    run.write_status("finished", epoch=trainer.epoch)
    return history


def _changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys: list[str] = []
        for key in sorted(set(old) | set(new)):
            keys += _changed_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        return keys
    return [] if old == new else [prefix.rstrip(".")]
