"""``condgen plugins``: what is registered, and from which distribution."""

from __future__ import annotations

from rich.table import Table

from . import cli, console


@cli.command("plugins")
def plugins_command() -> None:
    """List every registered component with its plugin module and distribution."""
    from ..plugins import autoload_disabled, load_plugins

    plugins = load_plugins()
    conflicts = plugins.registry.conflicts()
    table = Table(title="condgen components")
    for column in ("kind", "name", "plugin module", "distribution", "version"):
        table.add_column(column)
    for component in plugins.registry.components():
        clash = (component.kind, component.name) in conflicts
        name = f"{component.name} [red](name clash)[/]" if clash else component.name
        source = component.source
        table.add_row(component.kind, name, source.module, source.distribution, source.version)
    console.print(table)
    for broken in plugins.broken:
        console.print(f"[red]broken plugin[/] {broken.module} ({broken.distribution}): {broken.error}", markup=True)
    if autoload_disabled():
        console.print("Third-party plugin autoloading is disabled (CONDGEN_DISABLE_PLUGIN_AUTOLOAD).")
