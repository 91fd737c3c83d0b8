"""Safe YAML loading that remembers where every key was written.

The data comes from ``yaml.safe_load`` (anchors and merge keys work, no tags
that build Python objects); line numbers come from a second pass over the node
tree, so an error about ``model.encoder.hidden`` can say ``recipe.yaml:7``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from ..errors import RecipeError
from ..fields import path_problem

Location = tuple[str | int, ...]


class SourceMap:
    """Maps a key path like ``("model", "encoder", "hidden")`` to its line.

    ``files`` names the file of keys written elsewhere than ``source`` (keys a
    recipe inherits through ``extends``).
    """

    def __init__(
        self, source: str, lines: dict[Location, int] | None = None, files: dict[Location, str] | None = None
    ) -> None:
        self.source = source
        self.lines = lines or {}
        self.files = files or {}

    def _known(self, path: Location) -> Location | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return path
            path = path[:-1]
        return None

    def line(self, path: Location) -> int | None:
        known = self._known(path)
        return None if known is None else self.lines[known]

    def file(self, path: Location) -> str:
        """The file the key at ``path`` (or the closest key above it) was written in."""
        known = self._known(path)
        return self.source if known is None else self.files.get(known, self.source)

    def where(self, path: Location) -> str:
        known = self._known(path)
        return self.source if known is None else f"{self.files.get(known, self.source)}:{self.lines[known]}"


def _walk(node: yaml.Node, path: Location, lines: dict[Location, int], seen: set[int] | None = None) -> None:
    # An alias is the same node object as its anchor: walk each node once, so a
    # self-referencing alias cannot recurse forever and a "billion laughs" stays
    # linear. Keys under an alias then report the line of the key that uses it.
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            key = key_node.value
            lines.setdefault(path + (key,), key_node.start_mark.line + 1)
            _walk(value_node, path + (key,), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault(path + (index,), item.start_mark.line + 1)
            _walk(item, path + (index,), lines, seen)


# PyYAML's scalar constructors raise plain Python errors for some malformed values
# (``!!int abc``, ``!!bool maybe``, ``!!timestamp 2001-13-45``, an integer of 5000 digits).
SCALAR_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)


def describe_scalar_error(error: Exception) -> str:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, (KeyError, AttributeError)) or not detail:
        return "a tagged value does not have the form its tag requires"
    return f"a value cannot be read ({detail})"


def load_yaml(text: str, source: str) -> tuple[Any, SourceMap]:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise RecipeError(f"{where}: invalid YAML: {problem}.") from None
    except yaml.YAMLError as error:
        raise RecipeError(f"{source}: invalid YAML: {error}.") from None
    except RecursionError:
        raise RecipeError(f"{source}: the YAML document is nested too deeply.") from None
    except SCALAR_ERRORS as error:
        raise RecipeError(f"{source}: invalid YAML: {describe_scalar_error(error)}.") from None
    lines: dict[Location, int] = {}
    if root is not None:
        _walk(root, (), lines)
    return data, SourceMap(source, lines)


def _closest_recipe_hint(path: Path) -> str | None:
    """``Did you mean ...?`` for a YAML file beside the missing one: the other suffix first (.yml for .yaml)."""
    try:
        names = sorted(p.name for p in path.parent.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return None
    same_stem = [name for name in names if Path(name).stem == path.stem]
    close = same_stem or difflib.get_close_matches(path.name, names, n=1)
    return f"Did you mean {str(path.parent / close[0])!r}?" if close else None


def read_yaml_file(path: Path) -> tuple[Any, SourceMap]:
    problem = path_problem(path)
    if problem is not None:
        raise RecipeError(f"Recipe path {str(path)[:80]!r} cannot be used: {problem}.")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"Recipe file {str(path)!r} does not exist.", hint=_closest_recipe_hint(path)) from None
    except IsADirectoryError:
        raise RecipeError(f"Recipe path {str(path)!r} is a folder, not a YAML file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"Recipe file {str(path)!r} cannot be read: {error}.") from None
    return load_yaml(text, str(path))
