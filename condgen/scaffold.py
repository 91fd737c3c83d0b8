"""``condgen new-plugin``: write a ready-to-install plugin package.

The package is what a plugin author would otherwise copy from the FiLM
example by hand: a pyproject with the ``condgen`` entry point, one working
component of the chosen kind with its config model, tests that run condgen's
test kit (``condgen_check``), a README and an example recipe. It is written
into a hidden folder beside the target and renamed into place, so a failure
never leaves half a package behind and an existing folder is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import UserError
from .registry import KINDS
from .scaffold_kinds import TEMPLATES, KindTemplate

DEFAULT_KIND = "encoder"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*\Z")
NAME_RULE = (
    "a plugin NAME is lowercase letters, digits and underscores, starting with a letter "
    "(it becomes the Python package condgen_NAME and the component name in recipes)"
)
MAX_NAME_LENGTH = 60


class ScaffoldError(UserError):
    """A plugin that cannot be scaffolded: a bad name, or a target that exists or cannot be written."""


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from NAME, so the files agree with each other."""

    name: str  # the component name recipes use
    kind: str
    module: str  # the import package
    distribution: str  # the name on PyPI and in pip
    class_name: str
    recipe: str | None  # the example recipe's file name, None for kinds recipes cannot name

    @property
    def folder(self) -> str:
        return self.distribution


def check_name(name: str) -> None:
    """Raise :class:`ScaffoldError` naming the rule when NAME cannot be a package name."""
    if not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
        problem = f"longer than {MAX_NAME_LENGTH} characters" if NAME_PATTERN.match(name) else "not valid"
        hint = f"Try {suggest_name(name)!r}." if suggest_name(name) else None
        raise ScaffoldError(f"Plugin name {name!r} is {problem}: {NAME_RULE}.", hint=hint)


def suggest_name(name: str) -> str | None:
    """A valid name close to a rejected one (``My-Plugin`` -> ``my_plugin``), if there is one."""
    candidate = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    candidate = re.sub(r"^[0-9_]+", "", candidate)[:MAX_NAME_LENGTH]
    return candidate if candidate and NAME_PATTERN.match(candidate) and candidate != name else None


def plugin_names(name: str, kind: str = DEFAULT_KIND) -> PluginNames:
    check_name(name)
    if kind not in TEMPLATES:
        raise ScaffoldError(f"Unknown component kind {kind!r}.", hint=f"Kinds are: {', '.join(KINDS)}.")
    template = TEMPLATES[kind]
    camel = "".join(part.capitalize() for part in name.split("_"))
    recipe = None if template.recipe_block is None else f"{name}_cvae.yaml"
    return PluginNames(name, kind, f"condgen_{name}", f"condgen-{name}", camel + template.suffix, recipe)


def render(names: PluginNames) -> dict[str, str]:
    """The package's files, by path relative to its folder."""
    template = TEMPLATES[names.kind]
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README_HEAD + (README_RECIPE if names.recipe else README_NO_RECIPE) + README_TAIL,
        f"{names.module}/__init__.py": template.module,
        f"tests/test_{names.name}.py": template.test,
        ".gitignore": GITIGNORE,
    }
    if names.recipe:
        files[names.recipe] = example_recipe(template)
    return {path: _fill(text, names, template) for path, text in files.items()}


def write_plugin(name: str, kind: str = DEFAULT_KIND, directory: Path | str = ".") -> Path:
    """Write the package ``DIRECTORY/condgen-NAME/`` and return its path; never overwrites."""
    names = plugin_names(name, kind)
    directory = Path(directory)
    target = directory / names.folder
    _refuse_existing(target)
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"--directory {str(directory)!r} is a file, not a folder.")
    files = render(names)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{names.folder}-", suffix=".partial", dir=directory))
    except OSError as error:
        raise ScaffoldError(f"Cannot write in {str(directory)!r}: {error.strerror or error}.") from None
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; the package should not be
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        _refuse_existing(target)  # something may have appeared there meanwhile
        staging.rename(target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ScaffoldError(f"Cannot write the plugin package {str(target)!r}: {error}.") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def ensure_name_free(names: PluginNames, registered: dict[str, str]) -> None:
    """Refuse a name already registered for this kind: the scaffold's own tests would hit the clash.

    ``registered`` maps the kind's registered names to where they come from.
    """
    if names.name in registered:
        raise ScaffoldError(
            f"The {names.kind} name {names.name!r} is already registered by {registered[names.name]}; "
            "two plugins with one name make every recipe that uses it fail.",
            hint="Pick another NAME (`condgen plugins` lists the names in use).",
        )


def _refuse_existing(target: Path) -> None:
    if target.exists() or target.is_symlink():
        raise ScaffoldError(
            f"{str(target)!r} already exists; nothing was written.",
            hint="Pick another NAME or --directory, or move the existing folder away first.",
        )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fill(text: str, names: PluginNames, template: KindTemplate) -> str:
    summary = template.summary.replace("__NAME__", names.name)
    values = {
        "__SUMMARY__": summary,
        "__DIST__": names.distribution,
        "__MODULE__": names.module,
        "__CLASS__": names.class_name,
        "__RECIPE__": names.recipe or "",
        "__KIND__": names.kind,
        "__CONDGEN__": ".".join(__version__.split(".")[:2]),
        "__NAME__": names.name,
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def example_recipe(template: KindTemplate) -> str:
    """The seed CVAE on MNIST (or on the new dataset) with the new component in its slot."""
    slot = template.recipe_block.split(":", 1)[0]
    lines = []
    for line in RECIPE.splitlines(keepends=True):
        key = line.strip().split(":", 1)[0]
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(indent + template.recipe_block + "\n" if key == slot else line)
        if key == "prior" and slot == "heads":  # heads are optional: added after the model's parts
            lines.append(indent + template.recipe_block + "\n")
        if key == "output" and slot == "loggers":  # loggers are optional: added at the end
            lines.append(template.recipe_block + "\n")
    return "".join(lines)


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "__DIST__"
version = "0.1.0"
description = "__SUMMARY__"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["condgen>=__CONDGEN__"]

[project.optional-dependencies]
test = ["pytest>=7"]

# How condgen finds this plugin: an entry point in the `condgen` group,
# naming the module that holds the @condgen.hookimpl functions.
[project.entry-points.condgen]
__NAME__ = "__MODULE__"

[tool.setuptools]
packages = ["__MODULE__"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

RECIPE = """\
# The seed conditional VAE with the __NAME__ __KIND__ from __DIST__.
# Check it: condgen validate __RECIPE__    Train it: condgen run __RECIPE__
name: __NAME___cvae
seed: 0
data: {name: mnist}
model:
  conditioner: {name: concat}
  encoder: {name: mlp, hidden: [256], latent_dim: 2}
  decoder: {name: mlp, hidden: [256]}
  prior: {name: standard_normal}
trainer: {epochs: 10, batch_size: 50, optimizer: {name: adam, lr: 1.0e-3}}
output: {dir: runs}
"""

README_HEAD = """\
# __DIST__

__SUMMARY__

A plugin for condgen, which is not on PyPI: install condgen from its source or from a wheel built from it
first. The `__NAME__` __KIND__ lives in `__MODULE__/__init__.py`, next to its config model `__CLASS__Config`
(the options a recipe may set), and is registered by the `register_components` hook. condgen finds it through
the entry point in `pyproject.toml`:

```toml
[project.entry-points.condgen]
__NAME__ = "__MODULE__"
```

## Install and test

```bash
pip install -e ".[test]"
condgen plugins            # lists __KIND__ __NAME__ from __DIST__
python -m pytest           # condgen's test kit (the condgen_check fixture) plus this plugin's own tests
```

"""

README_RECIPE = """\
## Use

```bash
condgen validate __RECIPE__
condgen run __RECIPE__
```

"""

README_NO_RECIPE = """\
## Use

Recipes have no slot for a __KIND__ yet; build it from Python with
`__CLASS__(__CLASS__Config(), condgen.BuildContext(x_shape=..., condition_shape=...))`.

"""

README_TAIL = """\
## Publish

```bash
python -m build            # writes dist/*.whl and dist/*.tar.gz
python -m twine upload dist/*
```

Then anyone who has condgen installed can `pip install __DIST__` and name `__NAME__` in a recipe. See condgen's
`docs/writing-plugins.md` (Publishing) for installing condgen itself.
"""

GITIGNORE = """\
__pycache__/
*.egg-info/
build/
dist/
runs/
"""
