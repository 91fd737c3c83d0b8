"""``condgen run RECIPE [KEY=VALUE...] [--resume RUN] [--nproc N]``: train and write a run folder.

Under torchrun (or ``--nproc N``, which starts torchrun) this same command is
each rank's worker: rank 0 prints and writes, the others stay quiet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UserError
from .app import cli, console, report

if TYPE_CHECKING:
    from ..engine.distributed import World


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1)
@click.option("--resume", "resume", type=click.Path(path_type=Path), help="Continue the run in this folder.")
@click.option("--force", is_flag=True, help="With --resume: continue even if the recipe changed.")
@click.option(
    "--nproc",
    type=int,
    default=None,
    help="Train data-parallel on N processes on this machine (starts torchrun; see docs/distributed.md).",
)
def run(args: tuple[str, ...], resume: Path | None, force: bool, nproc: int | None) -> None:
    """Train the model a RECIPE describes; KEY=VALUE pairs override the recipe."""
    from ..engine.distributed import join

    recipe_path, overrides = split_args(args, recipe_required=resume is None)
    if nproc is not None:
        from ..engine.launch import check_nproc, launch

        check_nproc(nproc)
        if nproc > 1:
            preflight(nproc, recipe_path, overrides, resume)
            forwarded = list(args) + (["--resume", str(resume)] if resume is not None else [])
            code = launch(nproc, forwarded + (["--force"] if force else []))
            if code:
                raise click.exceptions.Exit(code)
            return
    world = join()
    if world.size == 1:
        train(world, recipe_path, overrides, resume, force)
        return
    code = 0
    try:
        train(world, recipe_path, overrides, resume, force)
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


def train(world: World, recipe_path: Path | None, overrides: list[str], resume: Path | None, force: bool) -> None:
    from ..engine.progress import RichReporter, SilentReporter
    from ..engine.session import resume_run, start_run
    from ..recipe import load_recipe

    reporter = RichReporter(console) if world.is_main else SilentReporter()
    if resume is not None:
        run_dir, history = resume_run(
            resume, reporter, recipe_path=recipe_path, overrides=overrides, force=force, world=world
        )
    else:
        resolved = world.together(lambda: load_recipe(recipe_path, overrides))
        if world.is_main:
            on = f" on {world.size} processes" if world.size > 1 else ""
            console.print(f"Training [bold]{resolved.recipe.name}[/] for {resolved.recipe.trainer.epochs} epochs{on}")
        run_dir, history = start_run(resolved, reporter, world)
    if not world.is_main:
        return
    if history:
        last = history[-1]
        console.print(f"Finished: test -ELBO {last['test_elbo']:.2f} nats after epoch {last['epoch']}.")
    console.print(f"Run folder: {run_dir.path}")


def preflight(nproc: int, recipe_path: Path | None, overrides: list[str], resume: Path | None) -> None:
    """What can be checked before starting N processes, so a plain mistake costs no launch (the ranks check again)."""
    from ..engine.distributed import World
    from ..engine.run_dir import open_run_dir
    from ..engine.session import check_output_dir
    from ..recipe import load_recipe

    if resume is not None:
        resolved = load_recipe(recipe_path or open_run_dir(resume).recipe, overrides)
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
