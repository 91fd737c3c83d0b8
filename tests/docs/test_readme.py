"""The README stays true to the code: its Commands block names every command the CLI has, its built-in list
names every component condgen itself registers, and its Python example runs as written (on tiny real MNIST files
instead of the real ones)."""

from __future__ import annotations

import pytest

import re
import shutil
from pathlib import Path

from condgen.data import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"


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


def section_code(heading: str) -> str:
    """The first ```python block after ``heading`` in README.md."""
    text = (REPO / "README.md").read_text()
    after = text.split(f"\n{heading}\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", after, re.S)
    assert found is not None, f"no python block under {heading}"
    return found.group(1)


@pytest.mark.slow
def test_the_python_api_example_in_the_readme_runs(tmp_path, tiny_mnist, monkeypatch) -> None:
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(tiny_mnist))
    namespace: dict = {}
    exec(compile(section_code("## Python API"), "README.md (Python API)", "exec"), namespace)
    run = namespace["run"]
    assert run.epoch == 1 and run.path.parent == Path("runs")
    assert (run.path / "eval.json").is_file()
    assert namespace["scores"]["settings"]["k"] == 10
