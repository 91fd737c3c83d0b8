"""Component blocks nested inside a component's config.

A component that wraps another one (a dataset that masks any image dataset,
say) declares a config field holding a whole ``{name: ..., option: ...}``
block of a given kind::

    class WrapperConfig(condgen.ComponentConfig):
        base: Annotated[condgen.ComponentBlock, condgen.BlockKind("dataset")]

``condgen validate`` resolves such blocks against the registry like the
recipe's own, so a misspelt option of the inner plugin is reported with its
file and line; the component builds it with ``context.build(config.base)``.
The core never learns which components nest which.

The recipe's own blocks (``data:``, ``model.encoder:``, ...) are the same type:
one concept, one class. This module only describes blocks; resolving one
against the plugins happens in ``recipe.resolve`` and ``compose``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_serializer
from pydantic_core import core_schema

from .registry import Part


class ComponentBlock(BaseModel):
    """``{name: ..., options...}``: a component of the kind its recipe section or field declares (see :class:`BlockKind`).

    Once resolved it carries the inner component and its validated config; it
    then serialises with every default filled in, as the recipe's own blocks do.
    """

    model_config = ConfigDict(extra="allow")
    name: str
    _kind: str | None = PrivateAttr(None)
    _resolved: Part | None = PrivateAttr(None)

    @property
    def kind(self) -> str | None:
        return self._kind

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def resolved(self) -> Part | None:
        """The :class:`~condgen.registry.Part` this block resolved to, or ``None``."""
        return self._resolved

    def attach(self, resolved: Part) -> None:
        """Record what this block resolved to (done by the recipe resolver or the composer)."""
        self._resolved = resolved

    @model_serializer(mode="wrap")
    def _serialise(self, handler: Any, info: Any) -> dict[str, Any]:
        dumped = handler(self)
        if self._resolved is None:
            return dumped
        own = {key: value for key, value in dumped.items() if key in type(self).model_fields}  # name, condgen's keys
        return {**own, **self._resolved.config.model_dump(mode=info.mode)}


@dataclass(frozen=True)
class BlockKind:
    """Field metadata naming the component kind a nested :class:`ComponentBlock` picks from."""

    kind: str

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._stamp, handler(source))

    def _stamp(self, block: Any) -> Any:
        if isinstance(block, ComponentBlock):
            block._kind = self.kind
        return block


Path = tuple[str | int, ...]


def nested_blocks(value: Any, path: Path = ()) -> Iterator[tuple[Path, ComponentBlock]]:
    """Every kind-stamped block inside a validated config (fields, lists, dicts), with its relative path.

    Blocks inside a nested block's own options are not visited: they belong to
    the inner component's config and are found when that one is resolved.
    """
    if isinstance(value, ComponentBlock):
        if value.kind is not None:
            yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from nested_blocks(getattr(value, name), path + (name,))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from nested_blocks(item, path + (index,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nested_blocks(item, path + (key,))


def declared_blocks(config: type[BaseModel], options: dict[str, Any]) -> Iterator[tuple[str, str, ComponentBlock]]:
    """The nested blocks a config declares at its top level, read from raw ``options`` that failed to validate.

    Lets a recipe's problems inside a nested block be reported alongside
    those of the block around it. Values that are not even a block are skipped
    (the outer validation error already names them).
    """
    for field, info in config.model_fields.items():
        kinds = [item.kind for item in info.metadata if isinstance(item, BlockKind)]
        if not kinds or not isinstance(options.get(field), dict):
            continue
        try:
            block = ComponentBlock.model_validate(options[field])
        except ValidationError:
            continue
        yield field, kinds[0], block
