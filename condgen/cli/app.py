"""The click group and the consoles every subcommand prints through (a leaf of the CLI package)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape

from ..errors import UserError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="condgen")
def cli() -> None:
    """Compose and train conditional generative models from plugins."""


def report(error: UserError) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(error.message)}")
    if error.hint:
        err_console.print(escape(error.hint))
