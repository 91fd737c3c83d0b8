"""Finding and loading plugins.

Every plugin, built-in or third-party, is a module named in the ``condgen``
entry-point group and holds ``@condgen.hookimpl`` functions. Built-ins are the
entry points of the ``condgen`` distribution itself; with
``CONDGEN_DISABLE_PLUGIN_AUTOLOAD`` set, only those load, and with
``CONDGEN_LOAD_PLUGINS=name1,name2`` only those third-party plugins (by
distribution or entry-point name) load beside them. A recipe's ``plugins:``
list loads its own on top. A plugin that fails to import or to register is
recorded as broken instead of stopping everything.

The entry points are scanned once per process (per ``sys.path`` and these
settings); the CLI, the recipe resolver and the test kit are handed that one
:class:`Plugins` object. A recipe's own plugins go into a copy, so one recipe's
local modules never show up in another's registry.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as metadata
import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterable

import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import PluginSource, Registry

ENTRY_POINT_GROUP = "condgen"
DISABLE_AUTOLOAD_ENV = "CONDGEN_DISABLE_PLUGIN_AUTOLOAD"
ALLOW_LIST_ENV = "CONDGEN_LOAD_PLUGINS"
TRACE_HOOKS_ENV = "CONDGEN_TRACE_HOOKS"
BUILTIN_DISTRIBUTION = "condgen"


#: what a plugin's import or hook may raise without stopping condgen: anything but Ctrl-C, ``sys.exit()``
#: included (a plugin must not be able to end ``condgen plugins`` or ``run`` with exit 0 and no output)
PLUGIN_FAILURES = (Exception, SystemExit, GeneratorExit)


@dataclass
class BrokenPlugin:
    module: str
    distribution: str
    error: str


@dataclass
class Plugins:
    """The loaded plugins: their pluggy manager, components and failures."""

    manager: pluggy.PluginManager
    registry: Registry
    sources: dict[str, PluginSource] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def load_module(self, module: ModuleType, source: PluginSource) -> None:
        """Register one plugin module and the components it provides."""
        if self.manager.is_registered(module):
            return
        name = source.module
        try:
            self.manager.register(module, name=name)
        except PLUGIN_FAILURES as error:  # pluggy validates hook names and signatures
            self.broken.append(BrokenPlugin(name, source.distribution, _describe(error)))
            return
        others = [p for p in self.manager.get_plugins() if p is not module]
        caller = self.manager.subset_hook_caller("register_components", remove_plugins=others)
        # Checked into a scratch registry first: a plugin that fails half-way registers nothing.
        pending = Registry()

        def register(kind, name_, factory, config) -> None:
            pending.add(kind, name_, factory, config, source=source)

        try:
            caller(register=register)
        except PLUGIN_FAILURES as error:
            self.manager.unregister(module)
            self.broken.append(BrokenPlugin(name, source.distribution, _describe(error)))
            return
        self.sources[name] = source
        for component in pending.components():
            self.registry.add(component.kind, component.name, component.factory, component.config, source=source)

    def load_extra(self, specs: Iterable[str], base_dir: Path | None = None) -> None:
        """Load plugins a recipe names: module names, or ``.py`` paths relative to the recipe."""
        for spec in specs:
            module = import_local_plugin(spec, base_dir)
            self.load_module(module, PluginSource(module.__name__, "(recipe)", "-"))

    def copy(self) -> Plugins:
        """The same plugins in a new object, for a recipe's own to be added to without touching these."""
        plugins = Plugins(new_plugin_manager(), self.registry.copy(), dict(self.sources), list(self.broken))
        for name, module in self.manager.list_name_plugin():
            plugins.manager.register(module, name=name)
        return plugins


def _describe(error: BaseException) -> str:
    """One line: what went wrong in a plugin (pluggy's and Python's messages can span several)."""
    text = error.message if isinstance(error, PluginError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def new_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    if os.environ.get(TRACE_HOOKS_ENV, "").strip() not in ("", "0"):
        manager.add_hookcall_monitoring(_trace_before, _trace_after)
    return manager


def _trace_before(hook_name: str, hook_impls: list, kwargs: dict) -> None:
    """CONDGEN_TRACE_HOOKS: each hook call on stderr, with the plugin modules it reaches."""
    targets = ", ".join(impl.plugin_name for impl in hook_impls) or "(no plugin)"
    print(f"condgen hook {hook_name}({', '.join(kwargs)}) -> {targets}", file=sys.stderr)


def _trace_after(outcome: pluggy.Result, hook_name: str, hook_impls: list, kwargs: dict) -> None:
    error = outcome.exception
    status = "done" if error is None else f"raised {type(error).__name__}: {error}"
    targets = ", ".join(impl.plugin_name for impl in hook_impls) or "(no plugin)"
    print(f"condgen hook {hook_name} <- {targets}: {status}", file=sys.stderr)


def autoload_disabled() -> bool:
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no")


def allow_list() -> frozenset[str] | None:
    """The third-party plugins ``CONDGEN_LOAD_PLUGINS`` lets load (normalised names), or ``None`` when it is unset."""
    value = os.environ.get(ALLOW_LIST_ENV)
    if value is None:
        return None
    return frozenset(_normalise(name) for name in value.split(",") if name.strip())


def _normalise(name: str) -> str:
    """Distribution names compare as pip compares them: case, ``-``, ``_`` and ``.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _allowed(entry_point: metadata.EntryPoint, dist_name: str, allowed: frozenset[str] | None) -> bool:
    if dist_name == BUILTIN_DISTRIBUTION:
        return True
    if autoload_disabled():
        return False
    return allowed is None or bool({_normalise(dist_name), _normalise(entry_point.name)} & allowed)


_scanned: dict[tuple, Plugins] = {}


def load_plugins(extra: Iterable[str] = (), base_dir: Path | None = None) -> Plugins:
    """The installed plugins (scanned once per process), plus the ``extra`` ones in a copy.

    Callers hand the result down instead of calling this again.
    """
    key = (
        tuple(sys.path),
        os.environ.get(DISABLE_AUTOLOAD_ENV),
        os.environ.get(ALLOW_LIST_ENV),
        os.environ.get(TRACE_HOOKS_ENV),
    )
    if key not in _scanned:
        _scanned[key] = _scan()
    extra = list(extra)
    if not extra:
        return _scanned[key]
    plugins = _scanned[key].copy()
    plugins.load_extra(extra, base_dir)
    return plugins


def _scan() -> Plugins:
    plugins = Plugins(new_plugin_manager(), Registry())
    allowed = allow_list()
    seen: set[str] = set()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        dist_name = dist.metadata["Name"] if dist is not None else "(unknown)"
        dist_version = dist.version if dist is not None else "-"
        if not _allowed(entry_point, dist_name, allowed):
            continue
        if entry_point.value in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(entry_point.value)
        try:
            module = entry_point.load()
        except PLUGIN_FAILURES as error:
            plugins.broken.append(BrokenPlugin(entry_point.value, dist_name, _describe(error)))
            continue
        plugins.load_module(module, PluginSource(entry_point.value, dist_name, dist_version))
    return plugins


def installed_plugin_modules() -> set[str]:
    """Modules of the ``condgen`` entry points: code the user installed, as opposed to code a recipe names."""
    return {entry_point.value.partition(":")[0] for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def local_plugins(specs: Iterable[str]) -> list[str]:
    """The entries of a recipe's ``plugins:`` that are not installed plugins (``.py`` files, modules on sys.path)."""
    installed = installed_plugin_modules()
    return [spec for spec in specs if spec not in installed]


_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def import_local_plugin(spec: str, base_dir: Path | None) -> ModuleType:
    """Import a plugin named by a recipe; relative paths start at the recipe's folder."""
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            is_file = path.is_file()
        except (OSError, ValueError) as error:  # a name too long, a NUL byte, ...
            raise PluginError(f"Plugin file {spec!r} named in the recipe cannot be used: {error}.") from None
        if not is_file:
            raise PluginError(f"Plugin file {str(path)!r} named in the recipe does not exist.")
        # Keyed by the file, so two recipes' same-named plugin files stay apart.
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        module_name = f"condgen_local_{path.stem}_{digest}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except PLUGIN_FAILURES as error:
            del sys.modules[module_name]
            raise PluginError(f"Plugin file {str(path)!r} failed to import: {type(error).__name__}: {error}") from None
        return module
    if not _MODULE_NAME.fullmatch(spec):
        raise PluginError(
            f"Plugin {spec!r} named in the recipe is neither a module name (like condgen_foo) nor a path to a .py file."
        )
    try:
        return importlib.import_module(spec)
    except ImportError as error:
        raise PluginError(
            f"Plugin module {spec!r} named in the recipe cannot be imported: {error}.",
            hint="Install it, or give a path to a .py file relative to the recipe.",
        ) from None
    except PLUGIN_FAILURES as error:
        raise PluginError(f"Plugin module {spec!r} named in the recipe failed to import: {_describe(error)}") from None
