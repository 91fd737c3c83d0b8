"""Read a recipe, apply overrides, and validate it against the plugins.

Every problem is collected before anything is raised, so ``condgen validate``
shows all of them at once, each with the file and line (or the command-line
override) it came from.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import PluginError, RecipeError
from ..plugins import Plugins, load_plugins
from ..registry import Component
from .overrides import apply_overrides
from .schema import Block, Recipe, block_options
from .yaml_lines import SourceMap, read_yaml_file


@dataclass(frozen=True)
class Part:
    """A component block resolved to its plugin and validated config."""

    kind: str
    component: Component
    config: BaseModel

    def build(self, context: Any) -> Any:
        return self.component.build(self.config, context)

    def as_block(self) -> dict[str, Any]:
        return {"name": self.component.name, **self.config.model_dump(mode="json")}


@dataclass(frozen=True)
class ResolvedRecipe:
    recipe: Recipe
    parts: dict[tuple[str, ...], Part]
    plugins: Plugins
    source: Path | None

    def part(self, *path: str) -> Part:
        return self.parts[tuple(path)]

    @property
    def base_dir(self) -> Path | None:
        return None if self.source is None else self.source.parent

    def to_dict(self) -> dict[str, Any]:
        """The recipe with every default filled in: what the run actually used."""
        data = self.recipe.model_dump(mode="json")
        for path, part in self.parts.items():
            node = data
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = part.as_block()
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


class _Problems:
    def __init__(self, source_map: SourceMap, origins: dict[tuple[str, ...], str]) -> None:
        self.source_map = source_map
        self.origins = origins
        self.items: list[str] = []

    def where(self, path: tuple) -> str:
        for length in range(len(path), 0, -1):
            origin = self.origins.get(tuple(str(p) for p in path[:length]))
            if origin is not None:
                return f"override {origin!r}"
        return self.source_map.where(path)

    def add(self, path: tuple, message: str) -> None:
        key = ".".join(str(p) for p in path) or "(top level)"
        self.items.append(f"{self.where(path)}: {key}: {message}")

    def add_validation_error(self, error: ValidationError, prefix: tuple, model: type[BaseModel]) -> None:
        for item in error.errors(include_url=False):
            loc = tuple(item["loc"])
            self.add(prefix + loc, _explain(item, model, loc))


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        current = annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _explain(item: dict, model: type[BaseModel], loc: tuple) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        known = _fields_at(model, loc) or []
        message = "unknown key"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        if known:
            message += f"; allowed keys: {', '.join(known)}"
        return message
    if kind == "missing":
        return "required key is missing"
    message = item["msg"]
    if "input" in item and kind not in ("model_type", "dict_type"):
        shown = repr(item["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message += f" (got {shown})"
    return message


def resolve(
    data: Any,
    source_map: SourceMap,
    *,
    overrides: list[str] = (),
    source: Path | None = None,
    plugins: Plugins | None = None,
) -> ResolvedRecipe:
    """Validate raw recipe data (as read from YAML) into a :class:`ResolvedRecipe`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{source_map.source}: a recipe must be a mapping of sections, got {type(data).__name__}.")
    data = copy.deepcopy(data)
    origins = apply_overrides(data, list(overrides))
    problems = _Problems(source_map, origins)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        problems.add_validation_error(error, (), Recipe)
        raise RecipeError(_summary(source_map.source, problems.items)) from None
    if plugins is None:
        plugins = load_plugins()
    base_dir = source.parent if source is not None else None
    try:
        plugins.load_extra(recipe.plugins, base_dir)
    except PluginError as error:
        problems.add(("plugins",), error.message)
    parts: dict[tuple[str, ...], Part] = {}
    for path, (kind, block) in recipe.component_blocks().items():
        part = _resolve_block(plugins, kind, block, path, problems)
        if part is not None:
            parts[path] = part
    if problems.items:
        raise RecipeError(_summary(source_map.source, problems.items))
    return ResolvedRecipe(recipe, parts, plugins, source)


def _resolve_block(plugins: Plugins, kind: str, block: Block, path: tuple, problems: _Problems) -> Part | None:
    try:
        component = plugins.registry.get(kind, block.name)
    except PluginError as error:
        problems.add(path + ("name",), str(error))
        return None
    try:
        config = component.config.model_validate(block_options(block))
    except ValidationError as error:
        problems.add_validation_error(error, path, component.config)
        return None
    return Part(kind, component, config)


def _summary(source: str, items: list[str]) -> str:
    count = "1 problem" if len(items) == 1 else f"{len(items)} problems"
    return f"Recipe {source} has {count}:\n" + "\n".join(f"  - {item}" for item in items)


def load_recipe(path: Path | str, overrides: list[str] = (), *, plugins: Plugins | None = None) -> ResolvedRecipe:
    """Read, override and validate the recipe at ``path``."""
    path = Path(path)
    data, source_map = read_yaml_file(path)
    return resolve(data, source_map, overrides=list(overrides), source=path, plugins=plugins)
