"""Import torchvision even when its C++ ops do not match the installed torch.

A torchvision wheel built for another torch (for example a CUDA wheel next to a
CPU torch) fails at import with ``operator torchvision::nms does not exist``:
its Python side registers fake kernels for ops whose schemas live in the C++
library that could not load. condgen only needs torchvision's datasets and
image utilities, which use none of those ops, so when - and only when - the C++
library failed to load, we define the two missing op schemas and import again.
A correctly matched install imports on the first try and is never touched.

Everything in condgen and its plugins imports torchvision through this module.

Public API, for plugin authors and users alike: ``import condgen.compat`` once,
before the first ``import torchvision`` of a process (a script, a notebook, a
plugin's own module), and a plain ``import torchvision`` works from then on;
``ops_were_stubbed()`` says whether the repair was needed. See the README's
install section and docs/writing-plugins.md.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch

#: The op schemas torchvision's import-time registrations need.
_MISSING_OP_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor",
}

#: Set when the schemas had to be defined; kept alive so they stay registered.
_stub_library: torch.library.Library | None = None


def _is_missing_op_error(error: BaseException) -> bool:
    text = str(error)
    return any(f"operator torchvision::{op} does not exist" in text for op in _MISSING_OP_SCHEMAS)


def _forget_partial_import() -> None:
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]


def ops_were_stubbed() -> bool:
    """True when torchvision's C++ ops failed to load and condgen defined stand-ins."""
    return _stub_library is not None


def import_torchvision() -> ModuleType:
    """Return the ``torchvision`` module, repairing a mismatched install if needed."""
    global _stub_library
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        extension = sys.modules.get("torchvision.extension")
        ops_loaded = extension is not None and extension._has_ops()
        if not _is_missing_op_error(error) or ops_loaded:
            raise
    _forget_partial_import()
    library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _MISSING_OP_SCHEMAS.values():
        library.define(schema)
    _stub_library = library
    return importlib.import_module("torchvision")


torchvision = import_torchvision()
