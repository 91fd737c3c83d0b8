"""``condgen new-plugin NAME [--kind KIND] [--directory DIR]``: start a plugin package that already works."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from ..scaffold import kind_templates
from .app import PATH, cli, console


@cli.command("new-plugin")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(list(kind_templates())), default="encoder", show_default=True, help="The kind of component to start from."
)
@click.option(
    "--directory",
    "-d",
    type=PATH,
    default=Path("."),
    show_default=True,
    help="Where to create the package folder condgen-NAME.",
)
def new_plugin(name: str, kind: str, directory: Path) -> None:
    """Write DIRECTORY/condgen-NAME: a pip-installable plugin with one working KIND, tests and a recipe."""
    from ..plugins import load_plugins
    from ..scaffold import ensure_name_free, plugin_names, write_plugin

    names = plugin_names(name, kind)
    registry = load_plugins().registry
    taken = {c.name: f"{c.source.module} ({c.source.distribution})" for c in registry.components() if c.kind == kind}
    ensure_name_free(names, taken)
    target = write_plugin(name, kind, directory)
    console.print(f"[green]Created {escape(str(target))}[/]: the {kind} {name!r} in {names.module}.")
    console.print("Next:", markup=False)
    console.print(f"  pip install -e '{target}[test]'", markup=False)
    console.print(f"  python -m pytest {target / 'tests'}", markup=False)
    if names.recipe:
        console.print(f"  condgen validate {target / names.recipe}", markup=False)
