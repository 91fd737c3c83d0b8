"""``key=value`` overrides from the command line, applied to the raw recipe.

Values are read as YAML scalars or flow collections (``5``, ``1e-3``,
``[256,256]``, ``{name: adam}``) and typed by the schema afterwards, exactly as
if they had been written in the file.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..errors import RecipeError
from .yaml_lines import SCALAR_ERRORS

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise RecipeError(
            f"Override {text!r} is not of the form key.path=value.",
            hint="Example: trainer.epochs=5 model.encoder.hidden=[256,256]",
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except (yaml.YAMLError, RecursionError, *SCALAR_ERRORS):
        raise RecipeError(f"Override {text!r}: the value {raw!r} is not valid YAML.") from None
    return tuple(key.split(".")), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[tuple[str, ...], str]:
    """Set each override in ``data`` in place; return which override set which path."""
    origins: dict[tuple[str, ...], str] = {}
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                prefix = ".".join(path[: depth + 1])
                raise RecipeError(f"Override {text!r}: {prefix} is a value, not a section with keys.")
            node = child
        node[path[-1]] = value
        origins[path] = text
    return origins


def keys_named(name: str) -> list[str]:
    """The recipe's own dotted keys whose last part is ``name`` (``epochs`` -> ``trainer.epochs``), for the
    user who typed a recipe setting as a command-line option. Component options belong to plugins and are not
    searched."""
    from pydantic import BaseModel

    from ..blocks import ComponentBlock
    from .schema import Recipe

    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        found = []
        for field, info in model.model_fields.items():
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel) and not issubclass(kind, ComponentBlock):
                found += walk(kind, f"{prefix}{field}.")
            elif field == name:
                found.append(prefix + field)
        return found

    return walk(Recipe, "")
