"""``condgen plugins``: what is registered, and from which distribution."""

from __future__ import annotations

import click
from rich.table import Table

from .app import cli, console


@cli.command("plugins")
@click.option("-v", "--verbose", is_flag=True, help="Also list each plugin module with its hooks and components.")
def plugins_command(verbose: bool) -> None:
    """List every registered component with its plugin module and distribution."""
    from ..plugins import ALLOW_LIST_ENV, TRACE_HOOKS_ENV, allow_list, autoload_disabled, load_plugins

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
    if verbose:
        console.print(_plugin_listing(plugins), markup=False, highlight=False)
        console.print(f"Set {TRACE_HOOKS_ENV}=1 to trace every hook call on stderr.")
    for broken in plugins.broken:
        console.print(f"[red]broken plugin[/] {broken.module} ({broken.distribution}): {broken.error}", markup=True)
    if autoload_disabled():
        console.print("Third-party plugin autoloading is disabled (CONDGEN_DISABLE_PLUGIN_AUTOLOAD).")
    elif allow_list() is not None:
        named = ", ".join(sorted(allow_list())) or "none"
        console.print(f"Only the third-party plugins {ALLOW_LIST_ENV} names load: {named}.", markup=False)


def _plugin_listing(plugins) -> str:
    """One paragraph per plugin module: plain lines, so no hook or component name is cut at any width."""
    by_module: dict[str, list[str]] = {}
    for component in plugins.registry.components():
        by_module.setdefault(component.source.module, []).append(f"{component.kind} {component.name}")
    lines = ["condgen plugins (module, distribution, hooks, components):"]
    for name, source in sorted(plugins.sources.items()):
        module = plugins.manager.get_plugin(name)
        hooks = sorted(caller.name for caller in plugins.manager.get_hookcallers(module) or [])
        lines.append(f"{name} ({source.distribution} {source.version})")
        lines.append(f"  hooks: {', '.join(hooks) or '(none)'}")
        lines.append(f"  components: {', '.join(by_module.get(name, [])) or '(none)'}")
    for broken in plugins.broken:
        lines.append(f"{broken.module} ({broken.distribution})")
        lines.append(f"  failed to load: {broken.error}")
    return "\n".join(lines)
