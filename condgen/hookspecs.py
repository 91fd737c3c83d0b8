"""The hooks a condgen plugin implements.

A plugin is a module with ``@condgen.hookimpl`` functions, listed under the
``condgen`` entry-point group of its distribution. Plugins receive a
``register`` callable and call it; they never touch the registry directly, so
its internals can change without breaking them.
"""

from __future__ import annotations

from typing import Callable

import pluggy

PROJECT = "condgen"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_components(register: Callable[..., None]) -> None:
    """Register the components this plugin provides.

    Call ``register(kind, name, factory, config)`` once per component:

    - ``kind``: one of ``dataset``, ``conditioner``, ``encoder``, ``decoder``,
      ``prior``, ``head``, ``text_encoder``, ``logger`` (see :mod:`condgen.protocols` for what each must do);
    - ``name``: what recipes write in ``{name: ...}``, unique within the kind;
    - ``factory``: called as ``factory(config, context)`` with the validated
      config and a :class:`condgen.BuildContext`, returns the component; or
      its path, ``"my_plugin.networks:TinyEncoder"``, imported only when a
      recipe builds it (so listing and validating never import torch);
    - ``config``: a subclass of :class:`condgen.ComponentConfig` describing the
      options a recipe may set. Unknown options are rejected.

    Example::

        @condgen.hookimpl
        def register_components(register):
            register("encoder", "tiny", TinyEncoder, TinyEncoderConfig)
    """
