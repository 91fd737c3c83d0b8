"""The click group, its shared options and the consoles every subcommand prints through (a leaf of the CLI package)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..errors import Notice, UserError
from ..fields import MAX_SEED, path_problem

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)


_debug = {"on": False}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="condgen")
@click.option("--debug", is_flag=True, help="Show the traceback behind an error.")
def cli(debug: bool) -> None:
    """Compose and train conditional generative models from plugins."""
    _debug["on"] = debug


class UsablePath(click.Path):
    """A path the filesystem can hold (no NUL byte, no over-long name): exit 2 with a message otherwise."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        problem = path_problem(value) if isinstance(value, (str, Path)) else None
        if problem is not None:
            self.fail(f"{str(value)[:60]!r} is not a usable path: {problem}.", param, ctx)
        return super().convert(value, param, ctx)


PATH = UsablePath(path_type=Path)
SEED = click.IntRange(0, MAX_SEED)
allow_plugins_option = click.option(
    "--allow-plugins",
    is_flag=True,
    help="Import the plugin modules the run folder's recipe names: their code runs, so only for run folders you trust.",
)


def announce_local_plugins(specs: list[str]) -> None:
    """One line per plugin module a recipe made condgen import (a recipe with ``plugins:`` is code)."""
    from ..plugins import local_plugins

    for spec in local_plugins(specs):
        err_console.print(f"Imported plugin module {escape(spec)} named in the recipe's plugins: (its code ran).")


def report(error: UserError) -> None:
    if _debug["on"] and (error.__cause__ is not None or error.__context__ is not None):
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, Notice):
        err_console.print(f"[bold yellow]{error.title}:[/] {escape(error.message)}")
    else:
        err_console.print(f"[bold red]Error:[/] {escape(error.message)}")
    if error.hint:
        err_console.print(escape(error.hint))


def plural(count: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``: for nouns whose plural adds an s."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
