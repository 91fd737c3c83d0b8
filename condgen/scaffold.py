"""``condgen new-plugin``: write a ready-to-install plugin package.

The package is what a plugin author would otherwise copy from the FiLM
example by hand: a pyproject with the ``condgen`` entry point, one working
component of the chosen kind with its config model, tests that run condgen's
test kit (``condgen_check``), a README and an example recipe. It is written
into a hidden folder beside the target and renamed into place, so a failure
never leaves half a package behind and an existing folder is never touched.

The files are real files under ``condgen/templates/`` (shipped as package
data), so they can be read, linted and diffed: ``plugin/`` holds what every
package gets, ``kinds/KIND/`` the component and its tests, ``kinds.yaml`` the
per-kind names. Placeholders: ``__NAME__`` (the component name), ``__MODULE__``
(the import package), ``__CLASS__`` (the component class), ``__DIST__``,
``__KIND__``, ``__RECIPE__``, ``__SUMMARY__``, ``__CONDGEN__``; a line
``# include: FILE`` takes in a shared piece from ``kinds/``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from .version import __version__
from .errors import UserError
from .registry import KINDS

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
    recipe: str  # the example recipe's file name

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


@dataclass(frozen=True)
class KindTemplate:
    """The per-kind names of a scaffolded plugin (``templates/kinds.yaml``)."""

    suffix: str  # appended to the CamelCase name to make the class name
    summary: str  # one line, for pyproject's description and the README
    recipe_block: str  # the example recipe's line for the new component's slot


@cache
def kind_templates() -> dict[str, KindTemplate]:
    return {kind: KindTemplate(**fields) for kind, fields in yaml.safe_load(_template("kinds.yaml")).items()}


def _template(relative: str) -> str:
    return (resources.files("condgen") / "templates" / relative).read_text(encoding="utf-8")


def plugin_names(name: str, kind: str = DEFAULT_KIND) -> PluginNames:
    check_name(name)
    templates = kind_templates()
    if kind not in templates:
        raise ScaffoldError(f"Unknown component kind {kind!r}.", hint=f"Kinds are: {', '.join(KINDS)}.")
    camel = "".join(part.capitalize() for part in name.split("_"))
    return PluginNames(name, kind, f"condgen_{name}", f"condgen-{name}", camel + templates[kind].suffix, f"{name}_cvae.yaml")


def render(names: PluginNames) -> dict[str, str]:
    """The package's files, by path relative to its folder."""
    template = kind_templates()[names.kind]
    files = {
        "pyproject.toml": _template("plugin/pyproject.toml"),
        "README.md": _template("plugin/README.md"),
        f"{names.module}/__init__.py": _template(f"kinds/{names.kind}/component.py"),
        f"tests/test_{names.name}.py": _with_includes(_template(f"kinds/{names.kind}/tests.py")),
        ".gitignore": _template("plugin/gitignore"),
        names.recipe: example_recipe(template),
    }
    return {path: _fill(text, names, template) for path, text in files.items()}


_INCLUDE = re.compile(r"^# include: ([\w.]+)\n", re.MULTILINE)


def _with_includes(text: str) -> str:
    return _INCLUDE.sub(lambda match: _template(f"kinds/{match.group(1)}"), text)


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
    """Refuse a name already registered for this kind, or whose import package already exists.

    ``registered`` maps the kind's registered names to where they come from.
    A second ``condgen_NAME`` on the path would shadow the first (``condgen
    new-plugin priors`` would write another ``condgen_priors``).
    """
    if names.name in registered:
        raise ScaffoldError(
            f"The {names.kind} name {names.name!r} is already registered by {registered[names.name]}; "
            "two plugins with one name make every recipe that uses it fail.",
            hint="Pick another NAME (`condgen plugins` lists the names in use).",
        )
    existing = _find_module(names.module)
    if existing is not None:
        raise ScaffoldError(
            f"A Python package named {names.module!r} already exists ({existing}); a second one would shadow it.",
            hint="Pick another NAME (`condgen plugins` lists the plugin modules in use).",
        )


def _find_module(module: str) -> str | None:
    """Where ``module`` would be imported from, without importing it; ``None`` if nowhere."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return spec.origin or ", ".join(spec.submodule_search_locations or []) or "a namespace package"


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
        "__RECIPE__": names.recipe,
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
    for line in _template("plugin/recipe.yaml").splitlines(keepends=True):
        key = line.strip().split(":", 1)[0]
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(indent + template.recipe_block + "\n" if key == slot else line)
        if key == "prior" and slot == "heads":  # heads are optional: added after the model's parts
            lines.append(indent + template.recipe_block + "\n")
        if key == "output" and slot == "loggers":  # loggers are optional: added at the end
            lines.append(template.recipe_block + "\n")
    return "".join(lines)
