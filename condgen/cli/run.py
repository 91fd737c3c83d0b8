"""``condgen run RECIPE [KEY=VALUE...] [--resume RUN] [--nproc N]``: train and write a run folder.

Under torchrun (or ``--nproc N``, which starts torchrun) this same command is
each rank's worker: rank 0 prints and writes, the others stay quiet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UserError
from .app import PATH, allow_plugins_option, announce_local_plugins, cli, console, plural, report
from .recipe_command import RecipeCommand

if TYPE_CHECKING:
    from ..engine.distributed import World


@cli.command(cls=RecipeCommand, context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="RECIPE [KEY=VALUE]...")
@click.option("--resume", "resume", type=PATH, help="Continue the run in this folder.")
@click.option("--force", is_flag=True, help="With --resume: continue even if the recipe changed.")
@click.option(
    "--nproc",
    type=int,
    default=None,
    help="Train data-parallel on N processes on this machine (starts torchrun; see docs/distributed.md).",
)
@allow_plugins_option
@click.option(
    "--sweep",
    is_flag=True,
    help="KEY=A,B,C values are swept: train every combination in turn (a rerun skips finished runs).",
)
def run(
    args: tuple[str, ...], resume: Path | None, force: bool, nproc: int | None, allow_plugins: bool, sweep: bool
) -> None:
    """Train the model a RECIPE describes; KEY=VALUE pairs override the recipe."""
    from ..engine.distributed import join

    recipe_path, overrides = split_args(args, recipe_required=resume is None)
    if sweep:
        if resume is not None or (nproc or 1) > 1:
            raise UserError("--sweep trains one process at a time from a recipe: drop --resume and --nproc.",
                            hint="Rerunning the same sweep command resumes it.")
        from .sweep import run_sweep_command

        run_sweep_command(recipe_path, overrides)
        return
    if nproc is not None:
        from ..engine.launch import check_nproc, launch

        check_nproc(nproc)
        if nproc > 1:
            preflight(nproc, recipe_path, overrides, resume, allow_plugins)
            forwarded = list(args) + (["--resume", str(resume)] if resume is not None else [])
            flags = (["--force"] if force else []) + (["--allow-plugins"] if allow_plugins else [])
            code = launch(nproc, forwarded + flags)
            if code:
                raise click.exceptions.Exit(code)
            return
    world = join()
    if world.size == 1:
        train(world, recipe_path, overrides, resume, force, allow_plugins)
        return
    code = 0
    try:
        train(world, recipe_path, overrides, resume, force, allow_plugins)
    except UserError as error:
        # An agreed error is on every rank: rank 0 reports it, and the others wait until it has (torchrun
        # stops the remaining workers as soon as one exits). A rank that failed alone reports its own.
        agreed, world.agreed = world.agreed is error, None
        if world.is_main or not agreed:
            report(error)
        if agreed:
            world.barrier()
        code = error.exit_code
    world.close()
    world.exit(code)


def train(
    world: World, recipe_path: Path | None, overrides: list[str], resume: Path | None, force: bool, allow_plugins: bool
) -> None:
    from ..engine.progress import RichReporter, SilentReporter
    from ..engine.session import resume_run, start_run
    from ..recipe import load_recipe

    reporter = RichReporter(console) if world.is_main else SilentReporter()
    if resume is not None:
        run_dir, history = resume_run(
            resume, reporter, recipe_path=recipe_path, overrides=overrides, force=force, world=world,
            allow_plugins=allow_plugins, announce=announce_local_plugins if world.is_main else None,
        )
    else:
        resolved = world.together(lambda: load_recipe(recipe_path, overrides))
        if world.is_main:
            announce_local_plugins(resolved.recipe.plugins)
            on = f" on {world.size} processes" if world.size > 1 else ""
            epochs = plural(resolved.recipe.trainer.epochs, "epoch")
            console.print(f"Training [bold]{resolved.recipe.name}[/] for {epochs}{on}")
        run_dir, history = start_run(resolved, reporter, world)
    if not world.is_main:
        return
    if history:
        last = history[-1]
        if "val_elbo" in last:  # the test split is left to condgen eval
            status = run_dir.read_status()
            stopped = " (stopped early)" if status.get("stopped_early") else ""
            console.print(
                f"Finished after epoch {last['epoch']}{stopped}: best validation -ELBO "
                f"{status.get('best_val_elbo', last['val_elbo']):.2f} nats at epoch {status.get('best_epoch')} "
                f"(checkpoints/best.pt). Test split: condgen eval {run_dir.path}"
            )
        else:
            console.print(f"Finished: test -ELBO {last['test_elbo']:.2f} nats after epoch {last['epoch']}.")
    console.print(f"Run folder: {run_dir.path}")


def preflight(
    nproc: int, recipe_path: Path | None, overrides: list[str], resume: Path | None, allow_plugins: bool
) -> None:
    """What can be checked before starting N processes, so a plain mistake costs no launch (the ranks check again)."""
    from ..engine.distributed import World
    from ..engine.open_run import check_run
    from ..engine.session import check_output_dir
    from ..recipe import load_recipe

    if resume is not None:
        checked = check_run(resume)
        if recipe_path is None:
            checked.allow_plugins(allow_plugins)
        resolved = load_recipe(recipe_path or checked.run.recipe, overrides)
    else:
        resolved = load_recipe(recipe_path, overrides)
        check_output_dir(resolved.recipe.output.dir)
    World(size=nproc).check_batch_size(resolved.recipe.trainer.batch_size)


def split_args(args: tuple[str, ...], *, recipe_required: bool) -> tuple[Path | None, list[str]]:
    """The first argument is the recipe unless it is a KEY=VALUE override."""
    if args and "=" not in args[0]:
        return Path(args[0]), list(args[1:])
    if recipe_required:
        raise UserError("Missing the recipe: condgen run RECIPE [KEY=VALUE...].")
    return None, list(args)
