"""``condgen validate RECIPE [KEY=VALUE...]``: check a recipe without training."""

from __future__ import annotations

import click

from .app import announce_local_plugins, cli, console
from .recipe_command import RecipeCommand
from .run import split_args


@cli.command(cls=RecipeCommand)
@click.argument("args", nargs=-1, required=True, metavar="RECIPE [KEY=VALUE]...")
@click.option("--show", is_flag=True, help="Print the resolved recipe (extends merged, overrides applied, every default filled in).")
def validate(args: tuple[str, ...], show: bool) -> None:
    """Report every problem in RECIPE, with file and line, or print that it is valid."""
    from ..recipe import load_recipe

    recipe_path, overrides = split_args(args, recipe_required=True)
    resolved = load_recipe(recipe_path, overrides)
    announce_local_plugins(resolved.recipe.plugins)
    console.print(f"[green]{recipe_path} is valid.[/]")
    if show:
        console.print(resolved.to_yaml(), markup=False)
