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
import reprlib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..blocks import ComponentBlock, declared_blocks, nested_blocks
from ..errors import PluginError, RecipeError
from ..plugins import Plugins, load_plugins
from ..registry import SAVED_RUN, Part
from .overrides import apply_overrides
from .schema import Recipe, raw_component_blocks
from .update_order import plan_stages
from .extends import read_recipe_file
from .yaml_lines import SourceMap


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
        # A .py plugin is found relative to the recipe; the saved copy lives elsewhere.
        data["plugins"] = [self._plugin_spec(spec) for spec in data["plugins"]]
        for path, part in self.parts.items():
            node = data
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = part.as_block()
        if self.recipe.data.validation is not None:  # condgen's key in the dataset block, not the plugin's
            data["data"]["validation"] = self.recipe.data.validation
        return data

    def _plugin_spec(self, spec: str) -> str:
        if spec.endswith(".py") and self.base_dir is not None and not Path(spec).is_absolute():
            return str((self.base_dir / spec).resolve())
        return spec

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def digest(self) -> str:
        return recipe_digest(self.to_dict())


def recipe_digest(data: Any) -> str:
    """The hash checkpoints record: of a resolved recipe, or of the YAML data of a saved ``recipe.yaml``."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class _Problems:
    def __init__(self, source_map: SourceMap, origins: dict[tuple[str, ...], str]) -> None:
        self.source_map = source_map
        self.origins = origins
        self.items: list[str] = []

    def where(self, path: tuple) -> str:
        keys = tuple(str(p) for p in path)
        for length in range(len(keys), 0, -1):
            origin = self.origins.get(keys[:length])
            if origin is not None:
                return f"override {origin!r}"
        if keys and tuple(path) not in self.source_map.lines:
            # A key the file does not have, which an override created on its way (``traner.epochs=1``).
            for target, origin in self.origins.items():
                if target[: len(keys)] == keys:
                    return f"override {origin!r}"
        return self.source_map.where(path)

    def add(self, path: tuple, message: str) -> None:
        key = ".".join(str(p) for p in path) or "(top level)"
        self.items.append(f"{self.where(path)}: {key}: {message}")

    def add_validation_error(self, error: ValidationError, prefix: tuple, model: type[BaseModel]) -> None:
        for item in error.errors(include_url=False):
            loc, holder = _locate(model, tuple(item["loc"]))
            self.add(prefix + loc, _explain(item, holder, loc))


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _locate(model: type[BaseModel], loc: tuple) -> tuple[tuple, type[BaseModel] | None]:
    """``loc`` as the recipe spells it, and the model whose key its last part is (``None`` if not a model's).

    pydantic puts the tag of a discriminated union into ``loc``
    (``mask.quadrants.observed`` for ``mask: {name: quadrants, observed: 4}``);
    it is not a key of the recipe, so it is dropped here.
    """
    current: Any = model
    clean: list = []
    members: dict[str, type[BaseModel]] = {}
    for index, part in enumerate(loc):
        if part in members:
            current, members = members[part], {}
            continue
        members = {}
        clean.append(part)
        if index == len(loc) - 1:
            break
        if not _is_model(current) or part not in current.model_fields:
            current = None
            continue
        info = current.model_fields[part]
        current = info.annotation
        if isinstance(info.discriminator, str):
            members = {
                member.model_fields[info.discriminator].default: member
                for member in typing.get_args(info.annotation)
                if _is_model(member) and info.discriminator in member.model_fields
            }
    return tuple(clean), (current if _is_model(current) else None)


def _explain(item: dict, holder: type[BaseModel] | None, loc: tuple) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        known = list(holder.model_fields) if holder is not None else []
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
        shown = _short_repr(item["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message += f" (got {shown})"
    return message


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def _short_repr(value: Any) -> str:
    """repr that stays short for huge or self-referencing values (YAML aliases make both cheap to write)."""
    return _REPR.repr(value)


def resolve(
    data: Any,
    source_map: SourceMap,
    *,
    overrides: list[str] = (),
    source: Path | None = None,
    plugins: Plugins | None = None,
    saved_run: bool = False,
) -> ResolvedRecipe:
    """Validate raw recipe data (as read from YAML) into a :class:`ResolvedRecipe`; ``saved_run``: the recipe
    of a run folder, whose data the components do not check (:func:`condgen.checks_data`)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{source_map.source}: a recipe must be a mapping of sections, got {type(data).__name__}.")
    data = copy.deepcopy(data)
    origins = apply_overrides(data, list(overrides))
    problems = _Problems(source_map, origins)
    recipe: Recipe | None = None
    try:
        recipe = Recipe.model_validate(data)
        blocks = recipe.component_blocks()
    except ValidationError as error:
        problems.add_validation_error(error, (), Recipe)
        if any(item["loc"][:1] == ("plugins",) for item in error.errors()):
            raise RecipeError(_summary(source_map.source, problems.items)) from None
        # The component blocks are still checked, so every problem shows in one pass.
        blocks = raw_component_blocks(data)
    if plugins is None:
        plugins = load_plugins()
    base_dir = source.parent if source is not None else None
    own_plugins = data.get("plugins") or [] if recipe is None else recipe.plugins
    if own_plugins:
        plugins = plugins.copy()  # the recipe's own plugins never leak into the process-wide object
    try:
        plugins.load_extra(own_plugins, base_dir)
    except PluginError as error:
        problems.add(("plugins",), error.message)
    parts: dict[tuple[str, ...], Part] = {}
    context = SAVED_RUN if saved_run else None
    for path, (kind, block) in blocks.items():
        part = _resolve_block(plugins, kind, block, path, problems, context)
        if part is not None:
            parts[path] = part
    if recipe is not None:
        try:
            plan_stages(recipe.trainer.update_order, list(recipe.model.heads))
        except ValueError as error:
            problems.add(("trainer", "update_order"), str(error))
    if problems.items or recipe is None:
        raise RecipeError(_summary(source_map.source, problems.items))
    return ResolvedRecipe(recipe, parts, plugins, source)


def _resolve_block(
    plugins: Plugins, kind: str, block: ComponentBlock, path: tuple, problems: _Problems, context: dict | None
) -> Part | None:
    try:
        component = plugins.registry.get(kind, block.name)
    except PluginError as error:
        problem = str(error)
        if plugins.broken and block.name not in plugins.registry.names(kind):
            problem += " Plugins that failed to load, and might provide it: " + "; ".join(
                f"{broken.module} ({broken.distribution}): {broken.error}" for broken in plugins.broken
            )
        problems.add(path + ("name",), problem)
        return None
    try:
        config = component.config.model_validate(block.options, context=context)
    except ValidationError as error:
        problems.add_validation_error(error, path, component.config)
        # Still check the blocks nested in it, so every problem shows at once.
        for field, kind, raw in declared_blocks(component.config, block.options):
            _resolve_block(plugins, kind, raw, path + (field,), problems, context)
        return None
    # Blocks nested in this component's config (condgen.ComponentBlock) resolve the same way, with their lines.
    nested_ok = True
    for where, inner in nested_blocks(config):
        inner_part = _resolve_block(plugins, inner.kind, inner, path + where, problems, context)
        if inner_part is None:
            nested_ok = False
        else:
            inner.attach(inner_part)
    return Part(component, config) if nested_ok else None


def _summary(source: str, items: list[str]) -> str:
    count = "1 problem" if len(items) == 1 else f"{len(items)} problems"
    return f"Recipe {source} has {count}:\n" + "\n".join(f"  - {item}" for item in items)


def load_recipe(
    path: Path | str, overrides: list[str] = (), *, plugins: Plugins | None = None, saved_run: bool = False
) -> ResolvedRecipe:
    """Read (with its ``extends`` chain), override and validate the recipe at ``path`` (``saved_run``: see
    :func:`resolve`)."""
    path = Path(path)
    data, source_map = read_recipe_file(path)
    return resolve(data, source_map, overrides=list(overrides), source=path, plugins=plugins, saved_run=saved_run)
