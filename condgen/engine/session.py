"""Start or resume a run: everything ``condgen run`` does besides printing.

All checks that can fail on user input (recipe, plugins, data, output folder)
happen before the run folder is created, so a failed start leaves nothing that
looks like a run.

Under DDP every step that can fail runs through ``world.together``, so all
ranks stop with the same error; only rank 0 touches the run folder.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from ..errors import CheckpointError, Notice, OutputError, UserError
from ..recipe import ResolvedRecipe, load_recipe
from .distributed import SINGLE, World, gradient_sync
from .open_run import check_run
from .run_dir import RunDir, create_run_dir, open_run_dir
from .run_lock import run_lock
from .trainer import Interrupted, Trainer, TrainingParts, build_parts


def check_output_dir(output_dir: Path) -> None:
    probe = output_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"The output folder {str(output_dir)!r} cannot be created: {str(probe)!r} is a file.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"The output folder {str(output_dir)!r} is not writable (no write access to {str(probe)!r}).")


def start_run(resolved: ResolvedRecipe, reporter: Any, world: World = SINGLE) -> tuple[RunDir, list[dict]]:
    def prepare() -> TrainingParts:
        if world.is_main:
            check_output_dir(resolved.recipe.output.dir)
        return build_parts(resolved, world)

    with ExitStack() as held:

        def create() -> RunDir:
            from .atomic import write_text

            run = create_run_dir(resolved.recipe.output.dir, resolved.recipe.name)
            held.enter_context(run_lock(run))  # from its first moment: a --resume of it waits its turn
            write_text(run.recipe, resolved.to_yaml())
            return run

        parts = world.together(prepare)
        sync = gradient_sync(world, parts.device, parts.facts())
        run = world.together(create, main_only=True)
        trainer = Trainer(parts, run, reporter, world, sync)
        return run, _fit(trainer)


def resume_run(
    run_path: Path,
    reporter: Any,
    *,
    recipe_path: Path | None = None,
    overrides: list[str] = (),
    force: bool = False,
    world: World = SINGLE,
    allow_plugins: bool = False,
    announce: Callable[[list[str]], None] | None = None,
) -> tuple[RunDir, list[dict]]:
    """Every rank reads the run folder (for multi-machine runs it must be on a shared filesystem).

    Rank 0 holds the run folder's lock from before it reads anything until the
    run stops. The checkpoint and the saved recipe are checked before a plugin
    is imported; the saved recipe's own plugin modules only with ``allow_plugins``
    (a recipe the user passes is the user's code, as for ``condgen run``). ``announce`` is told the
    recipe's plugin entries once they are imported.
    """
    with ExitStack() as held:

        def prepare() -> tuple[RunDir, TrainingParts, dict[str, Any]]:
            if world.is_main:
                held.enter_context(run_lock(open_run_dir(run_path)))
            checked = check_run(run_path)
            run, state = checked.run, checked.state
            run.read_status()  # a damaged run.json is reported now, not when the run stops
            if recipe_path is None:
                if not checked.recipe_is_the_checkpoints and not force:
                    raise _changed_recipe_error(run, state["recipe"], checked.recipe_data)
                checked.allow_plugins(allow_plugins)
            resolved = load_recipe(recipe_path or run.recipe, overrides)
            if announce is not None:
                announce(resolved.recipe.plugins)
            if state["recipe_digest"] != resolved.digest() and not force:
                raise _changed_recipe_error(run, state["recipe"], resolved.to_dict())
            return run, build_parts(resolved, world, state.get("dataset")), state

        run, parts, state = world.together(prepare)
        sync = gradient_sync(world, parts.device, parts.facts())
        trainer = Trainer(parts, run, reporter, world, sync)
        world.together(lambda: trainer.restore(state))  # any world size: the checkpoint holds the unwrapped model
        epochs, loop = trainer.recipe.trainer.epochs, trainer.loop
        if loop.epoch >= epochs:
            _fit(trainer)  # trains nothing, but writes what a kill just after the last checkpoint left unwritten
            raise world.mark_agreed(RunFinished(
                f"Run {str(run.path)!r} is already finished: it trained every epoch its recipe asks for ({epochs}).",
                hint=f"To train it further: condgen run --resume {run.path} trainer.epochs=N --force, N > {epochs}.",
            ))
        reporter.note(f"Resuming {run.path} from epoch {loop.epoch + 1}, step {loop.step_in_epoch}.")
        world.together(lambda: _drop_stale_evaluation(run, reporter), main_only=True)
        if force:
            from .atomic import write_text

            world.together(lambda: write_text(run.recipe, parts.resolved.to_yaml()), main_only=True)
        return run, _fit(trainer)


def _changed_recipe_error(run: RunDir, old: Any, new: Any) -> CheckpointError:
    changed = _changed_keys(old, new)
    return CheckpointError(
        f"The recipe differs from the one {str(run.path)!r} was trained with"
        + (f" (changed: {', '.join(changed)})." if changed else "."),
        hint="Resume with the same recipe, or pass --force to continue with the new one.",
    )


class RunFinished(Notice):
    """``--resume`` of a run that has trained every epoch of its recipe: nothing to do, and nothing failed."""

    title = "Finished"
    exit_code = 0


def _drop_stale_evaluation(run: RunDir, reporter: Any) -> None:
    """eval.json describes the checkpoint this resume is about to replace: remove it rather than let it mislead."""
    if run.evaluation.is_file():
        try:
            run.evaluation.unlink()
        except OSError as error:
            raise OutputError(f"Cannot remove the stale {str(run.evaluation)!r}: {error.strerror or error}.") from None
        reporter.note(f"Removed {run.evaluation.name}: it described the checkpoint this resume trains past.")


def _fit(trainer: Trainer) -> list[dict]:
    run, world = trainer.run, trainer.world
    world.together(
        lambda: run.write_status("running", epochs=trainer.recipe.trainer.epochs, step_in_epoch=None, error=None),
        main_only=True,
    )
    try:
        history = trainer.fit()
    except (Interrupted, KeyboardInterrupt):
        if world.is_main:
            _record(run, "interrupted", epoch=trainer.loop.epoch, step_in_epoch=trainer.loop.step_in_epoch)
            _close_loggers(trainer, "interrupted")
        raise
    except BaseException as error:
        message = error.message if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        if world.is_main:
            _record(run, "failed", error=message, epoch=trainer.loop.epoch)
            _close_loggers(trainer, "failed")
        raise
    finally:
        trainer.reporter.finish()  # clears a live progress bar before anything else is printed
    world.together(lambda: trainer.finish_loggers("finished"), main_only=True)
    world.together(lambda: run.write_status("finished", epoch=trainer.loop.epoch, **trainer.outcome()), main_only=True)
    return history


def _close_loggers(trainer: Trainer, status: str) -> None:
    """Best effort, like ``_record``: the error that stopped the run is the one to report."""
    try:
        trainer.finish_loggers(status)
    except Exception:
        pass


def _record(run: RunDir, status: str, **fields: Any) -> None:
    """Best effort: when the disk is full, the error that stopped the run matters more than run.json."""
    try:
        run.write_status(status, **fields)
    except UserError:
        pass


def _changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys: list[str] = []
        for key in sorted(set(old) | set(new)):
            keys += _changed_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        return keys
    return [] if old == new else [prefix.rstrip(".")]
