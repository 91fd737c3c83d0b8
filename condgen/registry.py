"""The component registry: ``(kind, name)`` to a factory and its config model.

Plugins fill it through the ``register_components`` hook. Lookups of unknown
names fail with the registered names and the closest match; a name that two
plugins registered fails only when a recipe uses it, naming both, so one bad
plugin never stops recipes that do not touch it.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, ValidationInfo

from . import origins
from .errors import PluginError, UserError

KINDS: tuple[str, ...] = ("dataset", "conditioner", "encoder", "decoder", "prior", "head", "text_encoder", "logger")
#: The conditional VAE's parts, each a kind of its own, in the order they are built.
MODEL_PARTS: tuple[str, ...] = ("conditioner", "encoder", "decoder", "prior")
#: What ``trainer.update_order`` may call the model's updates: all of it at once, or its encoder and decoder apart.
MODEL_UPDATES: tuple[str, ...] = ("model", "encoder", "decoder")


class ComponentConfig(BaseModel):
    """Base class of every component's options; unknown options are errors."""

    model_config = ConfigDict(extra="forbid")


#: The validation context under which a saved run's recipe is read (see :func:`checks_data`).
SAVED_RUN = {"saved_run": True}


def checks_data(info: ValidationInfo) -> bool:
    """Whether a config's validator may look at the files its options name (a folder, a table).

    True when a recipe is about to train (``condgen run``, ``condgen validate``);
    False when a run folder's saved recipe is opened (``sample``, ``eval``, the
    Python API): the run may be opened where its data is not, and what it needs
    of the data is in its checkpoint (:class:`condgen.StatefulDataset`).
    """
    return not (info.context or {}).get("saved_run", False)


@dataclass(frozen=True)
class PluginSource:
    """Where a component came from, for error messages and ``condgen plugins``."""

    module: str
    distribution: str
    version: str


#: ``"package.module:Name"``: a factory named instead of imported, so a plugin's networks (and torch)
#: load only when a recipe builds one, and ``condgen plugins`` or ``validate`` never pay for them.
_FACTORY_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    factory: Callable[..., Any] | str
    config: type[BaseModel]
    source: PluginSource

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name!r} from plugin {self.source.module}"

    def load_factory(self) -> Callable[..., Any]:
        """The factory, imported now if the plugin registered it by path."""
        if not isinstance(self.factory, str):
            return self.factory
        module, _, attribute = self.factory.partition(":")
        try:
            found: Any = importlib.import_module(module)
            for part in attribute.split("."):
                found = getattr(found, part)
        except Exception as error:
            raise PluginError(
                f"The {self.kind} {self.name!r} of plugin {self.source.module} ({self.source.distribution}) "
                f"names its factory {self.factory!r}, which cannot be loaded: {type(error).__name__}: {error}"
            ) from None
        return found


@dataclass(frozen=True)
class Part:
    """A component with its validated config: what a block resolves to, and the one way anything is built."""

    component: Component
    config: BaseModel

    @property
    def kind(self) -> str:
        return self.component.kind

    def build(self, context: Any) -> Any:
        """The factory's object, recorded as this component's; a failure that is not the user's names it."""
        factory = self.component.load_factory()
        try:
            built = factory(self.config, context)
        except UserError:
            raise
        except Exception as error:
            raise PluginError(
                f"{self.component.label}: building it raised {type(error).__name__}: {error}",
                hint="This is a bug in that plugin: run with --debug for the traceback, and tell its authors.",
            ) from error
        origins.record(built, self.component.label)
        return built

    def as_block(self) -> dict[str, Any]:
        """The block as a recipe would write it, with every default filled in."""
        return {"name": self.component.name, **self.config.model_dump(mode="json")}


class Registry:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[Component]] = {}

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        config: type[BaseModel],
        *,
        source: PluginSource,
    ) -> Component:
        where = f"plugin {source.module} ({source.distribution})"
        if kind not in KINDS:
            raise PluginError(
                f"{where} registered {name!r} under unknown kind {kind!r}.",
                hint=f"Kinds are: {', '.join(KINDS)}.",
            )
        if not isinstance(name, str) or not name:
            raise PluginError(f"{where} registered a {kind} with an invalid name {name!r}.")
        if not (callable(factory) or (isinstance(factory, str) and _FACTORY_PATH.fullmatch(factory))):
            raise PluginError(
                f"{where} registered {kind} {name!r} with a factory that is not callable.",
                hint='Pass a class or function, or its path as "package.module:Name".',
            )
        if not (isinstance(config, type) and issubclass(config, BaseModel)):
            raise PluginError(
                f"{where} registered {kind} {name!r} with config {config!r}, which is not a pydantic model.",
                hint="Subclass condgen.ComponentConfig.",
            )
        if not issubclass(config, ComponentConfig):
            raise PluginError(
                f"{where} registered {kind} {name!r} with config {config.__name__}, a pydantic model that is not "
                "a condgen.ComponentConfig: it would let misspelt options through unnoticed.",
                hint="Subclass condgen.ComponentConfig.",
            )
        component = Component(kind, name, factory, config, source)
        self._entries.setdefault((kind, name), []).append(component)
        return component

    def copy(self) -> Registry:
        """A registry with the same components, to add more to without changing this one."""
        registry = Registry()
        registry._entries = {key: list(found) for key, found in self._entries.items()}
        return registry

    def names(self, kind: str) -> list[str]:
        return sorted(name for (k, name) in self._entries if k == kind)

    def components(self) -> list[Component]:
        return [c for key in sorted(self._entries) for c in self._entries[key]]

    def conflicts(self) -> dict[tuple[str, str], list[Component]]:
        return {key: found for key, found in self._entries.items() if len(found) > 1}

    def get(self, kind: str, name: str) -> Component:
        found = self._entries.get((kind, name))
        if not found:
            raise PluginError(unknown_name_message(kind, name, self.names(kind)))
        if len(found) > 1:
            sources = " and ".join(f"{c.source.module} ({c.source.distribution} {c.source.version})" for c in found)
            raise PluginError(
                f"The {kind} name {name!r} is registered by more than one plugin: {sources}.",
                hint="Uninstall one of them, or disable autoloading with CONDGEN_DISABLE_PLUGIN_AUTOLOAD=1.",
            )
        return found[0]


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    message = f"Unknown {kind} {name!r}."
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f" Did you mean {close[0]!r}?"
    listed = ", ".join(known) if known else "none"
    return (
        f"{message} Registered {kind}s: {listed}. `condgen plugins` lists every installed component; one from "
        "another package needs that package installed (pip install ...) or its module in the recipe's plugins: list."
    )
