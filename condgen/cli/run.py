"""``condgen run RECIPE [KEY=VALUE...] [--resume RUN]``: train and write a run folder."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UserError
from . import cli, console


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1)
@click.option("--resume", "resume", type=click.Path(path_type=Path), help="Continue the run in this folder.")
@click.option("--force", is_flag=True, help="With --resume: continue even if the recipe changed.")
def run(args: tuple[str, ...], resume: Path | None, force: bool) -> None:
    """Train the model a RECIPE describes; KEY=VALUE pairs override the recipe."""
    from ..engine.progress import RichReporter
    from ..engine.session import resume_run, start_run
    from ..recipe import load_recipe

    recipe_path, overrides = split_args(args, recipe_required=resume is None)
    reporter = RichReporter(console)
    if resume is not None:
        run_dir, history = resume_run(resume, reporter, recipe_path=recipe_path, overrides=overrides, force=force)
    else:
        resolved = load_recipe(recipe_path, overrides)
        console.print(f"Training [bold]{resolved.recipe.name}[/] for {resolved.recipe.trainer.epochs} epochs")
        run_dir, history = start_run(resolved, reporter)
    if history:
        last = history[-1]
        console.print(f"Finished: test -ELBO {last['test_elbo']:.2f} nats after epoch {last['epoch']}.")
    console.print(f"Run folder: {run_dir.path}")


def split_args(args: tuple[str, ...], *, recipe_required: bool) -> tuple[Path | None, list[str]]:
    """The first argument is the recipe unless it is a KEY=VALUE override."""
    if args and "=" not in args[0]:
        return Path(args[0]), list(args[1:])
    if recipe_required:
        raise UserError("Missing the recipe: condgen run RECIPE [KEY=VALUE...].")
    return None, list(args)
