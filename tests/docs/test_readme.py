"""The README's lists stay true to the code: its Commands block names every command the CLI has, and its
built-in list names every component condgen itself registers."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_commands_block_lists_every_command_of_the_cli() -> None:
    from condgen.cli import cli, main

    main(["--help"])  # registers the subcommands, as the condgen command does
    block = re.search(r"```bash\n(.*?)```", section("Commands"), re.S).group(1)
    listed = {line.split()[1] for line in block.splitlines() if line.startswith("condgen ")}
    assert listed == set(cli.commands)


def test_the_builtin_list_names_every_component_condgen_registers() -> None:
    from condgen.plugins import load_plugins

    paragraph = section("Plugins").split("Built-ins (`plugins/`", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", paragraph))
    builtins = {c.name for c in load_plugins().registry.components() if c.source.distribution == "condgen"}
    assert named == builtins
