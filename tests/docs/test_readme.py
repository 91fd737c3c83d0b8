"""The README's Python example runs as written (on tiny real MNIST files instead of the real ones)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from condgen.data import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[2]


def section_code(heading: str) -> str:
    """The first ```python block after ``heading`` in README.md."""
    text = (REPO / "README.md").read_text()
    after = text.split(f"\n{heading}\n", 1)[1]
    found = re.search(r"```python\n(.*?)```", after, re.S)
    assert found is not None, f"no python block under {heading}"
    return found.group(1)


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
