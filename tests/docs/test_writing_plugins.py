"""docs/writing-plugins.md runs: every fenced block, in order, in one empty folder.

How each fence language is treated:

- ``python``: exec'd; all Python blocks share one namespace, so later blocks use what earlier ones defined;
- ``yaml``: parsed; a mapping with ``data`` and ``model`` is a recipe and must pass condgen's ``load_recipe``;
- ``toml``: parsed with ``tomllib``;
- ``bash``: run with ``bash -eo pipefail`` in the folder, with this interpreter's ``condgen`` first on PATH;
- anything else, a bare fence included: the test fails, so no block escapes checking.

A block whose first line is ``# file: NAME`` is also written to NAME before it runs, which is how the guide
ships a plugin file that a later recipe, shell command or test-kit call loads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
import yaml

from condgen.plugins import DISABLE_AUTOLOAD_ENV, TRACE_HOOKS_ENV
from condgen.recipe import load_recipe

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-plugins.md"
FENCE = re.compile(r"^```(.*)$")
FILE_MARKER = re.compile(r"^# file: (\S+)$")


@dataclass
class Block:
    language: str
    code: str
    line: int  # of the opening fence, for failure messages

    @property
    def file_name(self) -> str | None:
        first = self.code.split("\n", 1)[0].strip()
        found = FILE_MARKER.match(first)
        return found.group(1) if found else None


def fenced_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    open_block: Block | None = None
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence and open_block is None:
            open_block, lines = Block(fence.group(1).strip(), "", number), []
        elif fence and open_block is not None:
            assert not fence.group(1).strip(), f"line {number}: a fence opens inside the block from line {open_block.line}"
            open_block.code = "\n".join(lines) + "\n"
            blocks.append(open_block)
            open_block = None
        elif open_block is not None:
            lines.append(line)
    assert open_block is None, f"the block from line {open_block.line} is never closed"
    return blocks


def run_python(block: Block, namespace: dict[str, Any], folder: Path) -> None:
    exec(compile(block.code, f"{GUIDE.name}:{block.line}", "exec"), namespace)


def check_yaml(block: Block, namespace: dict[str, Any], folder: Path) -> None:
    data = yaml.safe_load(block.code)
    if isinstance(data, dict) and {"data", "model"} <= set(data):
        path = folder / (block.file_name or f"block-{block.line}.yaml")
        path.write_text(block.code)
        load_recipe(path)


def parse_toml(block: Block, namespace: dict[str, Any], folder: Path) -> None:
    tomllib.loads(block.code)


def run_bash(block: Block, namespace: dict[str, Any], folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (DISABLE_AUTOLOAD_ENV, TRACE_HOOKS_ENV)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", block.code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


RUNNERS: dict[str, Callable[[Block, dict[str, Any], Path], None]] = {
    "python": run_python,
    "yaml": check_yaml,
    "toml": parse_toml,
    "bash": run_bash,
}


def run_guide(text: str, folder: Path) -> dict[str, Any]:
    """Run every block of ``text`` in ``folder``; the first failure names its line."""
    blocks = fenced_blocks(text)
    for block in blocks:
        if block.language not in RUNNERS:
            pytest.fail(f"{GUIDE.name}:{block.line}: unknown fence language {block.language!r}; use one of {sorted(RUNNERS)}")
    namespace: dict[str, Any] = {"__name__": "writing_plugins_guide"}
    for block in blocks:
        if block.file_name:
            (folder / block.file_name).write_text(block.code)
        try:
            RUNNERS[block.language](block, namespace, folder)
        except Exception as error:
            raise AssertionError(f"{GUIDE.name}:{block.line} ({block.language}) failed: {error}") from error
    return namespace


@pytest.fixture
def in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(TRACE_HOOKS_ENV, raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(threads)
    for name, module in list(sys.modules.items()):  # the guide's local plugin files
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.mark.slow
def test_every_block_of_the_guide_runs(in_empty_folder: Path) -> None:
    namespace = run_guide(GUIDE.read_text(), in_empty_folder)
    # What the blocks promise to leave behind, so a block that silently did nothing is caught.
    assert (in_empty_folder / "condgen-acme" / "condgen_acme" / "__init__.py").is_file()
    assert namespace["report"].loss_after < namespace["report"].loss_before


def test_the_guide_has_every_kind_of_block_and_covers_the_topics() -> None:
    text = GUIDE.read_text()
    languages = {block.language for block in fenced_blocks(text)}
    assert languages == set(RUNNERS)
    for topic in (
        "register_components",
        "BuildContext",
        "context.modulator(features)",
        "condgen.ComponentConfig",
        "(name clash)",
        "CONDGEN_DISABLE_PLUGIN_AUTOLOAD=1",
        "plugins: [my_plugin.py",
        "condgen_check",
        "condgen new-plugin",
        "[project.entry-points.condgen]",
        "twine upload",
        "condgen plugins --verbose",
        "CONDGEN_TRACE_HOOKS=1",
    ):
        assert topic in text, topic
    for kind in ("dataset", "conditioner", "encoder", "decoder", "prior", "head"):
        assert f"| `{kind}` |" in text, kind


@pytest.mark.parametrize("fence", ["```js", "```", "```sh"])
def test_a_block_in_an_unknown_language_fails(tmp_path: Path, fence: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="unknown fence language"):
        run_guide(f"Text.\n\n{fence}\nprint(1)\n```\n", tmp_path)


def test_a_failing_block_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"writing-plugins.md:3 \(bash\) failed"):
        run_guide("One.\n\n```bash\nfalse\n```\n", tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)writing-plugins.md:1 \(yaml\) failed.*Unknown encoder .nope."):
        run_guide("```yaml\nname: x\ndata: {name: mnist}\nmodel: {conditioner: {name: concat}, encoder: {name: nope}, decoder: {name: mlp}}\n```\n", tmp_path)
