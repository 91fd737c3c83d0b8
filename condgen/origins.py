"""Which plugin built which object, so that an error raised inside a component names it.

The registry records every object a component factory returns. When an
exception escapes (a forward that raises, a method that fails), :func:`blame`
walks its traceback from the innermost frame outwards to the first method of
such an object and names that component and its plugin:
``encoder 'foo' from plugin cg_garbage: ValueError: ...``.
"""

from __future__ import annotations

import weakref
from typing import Any

from .errors import PluginError

_BUILT_BY: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def record(built: Any, label: str) -> None:
    """Remember that ``label`` (``"encoder 'mlp' from plugin condgen_mlp"``) built ``built``."""
    try:
        _BUILT_BY[built] = label
    except TypeError:  # an int, None, ...: not weakly referable; the kind's check reports it
        pass


def label_of(value: Any) -> str | None:
    try:
        return _BUILT_BY.get(value)
    except TypeError:  # unhashable
        return None


def blame(error: BaseException) -> PluginError | None:
    """The error as a :class:`PluginError` naming the component whose method raised it, or ``None``."""
    frames = []
    trace = error.__traceback__
    while trace is not None:
        frames.append(trace.tb_frame)
        trace = trace.tb_next
    for frame in reversed(frames):
        label = label_of(frame.f_locals.get("self"))
        if label is not None:
            detail = " ".join(f"{type(error).__name__}: {error}".split())
            if len(detail) > 300:
                detail = detail[:297] + "..."
            blamed = PluginError(
                f"{label}: {detail}",
                hint="This is a bug in that plugin: run with --debug for the traceback, and tell its authors.",
            )
            blamed.__cause__ = error
            return blamed
    return None
