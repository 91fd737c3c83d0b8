"""Recipe inheritance: ``extends: base.yaml`` plus only the keys that differ.

The parent (a path relative to the recipe that names it) is read first, then
the child's keys are merged into it: mappings merge key by key, everything
else (lists, scalars) replaces the parent's value, and a component block whose
``name`` changes replaces the parent's block whole, since the parent's options
belong to another plugin. Every key keeps the file and line it was written at,
so an error in an inherited key points into the parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import RecipeError
from .yaml_lines import Location, SourceMap, read_yaml_file

EXTENDS = "extends"
#: how deep a chain of ``extends`` may go (a guard, not a design limit)
MAX_DEPTH = 32


def read_recipe_file(path: Path) -> tuple[Any, SourceMap]:
    """The recipe at ``path`` with its ``extends`` chain merged in, and where each key came from."""
    return _read(Path(path), ())


def _read(path: Path, chain: tuple[Path, ...]) -> tuple[Any, SourceMap]:
    data, source_map = read_yaml_file(path)
    if not isinstance(data, dict) or EXTENDS not in data:
        return data, source_map
    where = source_map.where((EXTENDS,))
    parent_name = data.pop(EXTENDS)
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise RecipeError(f"{where}: extends: must be the path of another recipe file, got {parent_name!r}.")
    parent_path = path.parent / parent_name
    key = _identity(parent_path)
    if key in chain or key == _identity(path):
        cycle = " -> ".join(str(p) for p in (*chain, path, parent_path))
        raise RecipeError(f"{where}: extends: {parent_name!r} makes a cycle ({cycle}).")
    if len(chain) >= MAX_DEPTH:
        raise RecipeError(f"{where}: extends: more than {MAX_DEPTH} recipes in one chain.")
    if not parent_path.is_file():
        raise RecipeError(
            f"{where}: extends: {parent_name!r} does not exist (looked for {str(parent_path)!r}).",
            hint="The path is relative to the folder of the recipe that extends it.",
        )
    parent, parent_map = _read(parent_path, (*chain, _identity(path)))
    if not isinstance(parent, dict):
        raise RecipeError(f"{parent_map.source}: a recipe must be a mapping of sections, got {type(parent).__name__}.")
    _absolute_plugin_files(parent, parent_path.parent)
    located = {path_: (parent_map.file(path_), line) for path_, line in parent_map.lines.items()}
    merged = _merge(parent, data, (), located, source_map)
    files = {path_: file for path_, (file, _) in located.items() if file != source_map.source}
    return merged, SourceMap(source_map.source, {p: line for p, (_, line) in located.items()}, files)


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _absolute_plugin_files(data: dict[str, Any], base_dir: Path) -> None:
    """``.py`` plugins are found relative to the recipe that names them, which is the parent here."""
    plugins = data.get("plugins")
    if isinstance(plugins, list):
        data["plugins"] = [_plugin_from(spec, base_dir) for spec in plugins]


def _plugin_from(spec: Any, base_dir: Path) -> Any:
    if isinstance(spec, str) and spec.endswith(".py") and not Path(spec).is_absolute():
        return str((base_dir / spec).resolve())
    return spec


def _merge(
    parent: Any, child: Any, path: Location, located: dict[Location, tuple[str, int]], child_map: SourceMap
) -> Any:
    """``child`` merged into ``parent`` (both copied as needed); ``located`` follows every replaced key."""
    if isinstance(parent, dict) and isinstance(child, dict) and not (path and _renamed(parent, child)):
        merged = dict(parent)
        for key, value in child.items():
            sub = path + (key,)
            if key in parent:
                merged[key] = _merge(parent[key], value, sub, located, child_map)
                if sub in child_map.lines:  # the key itself: where the child wrote it
                    located[sub] = (child_map.file(sub), child_map.lines[sub])
            else:
                merged[key] = value
                _take(sub, located, child_map)
        return merged
    _take(path, located, child_map)
    return child


def _renamed(parent: dict[str, Any], child: dict[str, Any]) -> bool:
    """A component block that names another plugin: the parent's options would not fit it."""
    return "name" in child and "name" in parent and child["name"] != parent["name"]


def _take(path: Location, located: dict[Location, tuple[str, int]], child_map: SourceMap) -> None:
    """``path`` and everything under it now come from the child."""
    for key in [k for k in located if k[: len(path)] == path]:
        del located[key]
    for key, line in child_map.lines.items():
        if key[: len(path)] == path:
            located[key] = (child_map.file(key), line)
