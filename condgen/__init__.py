"""condgen: conditional generative models composed from plugins.

This module is the public API plugins build on; everything a plugin needs is
importable from here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it. Imported on first use, so ``import condgen``
#: (every plugin does it) and ``condgen --help`` do not pay for torch until something needs it.
_EXPORTS = {
    "BlockKind": "blocks",
    "ComponentBlock": "blocks",
    "TensorSplit": "data",
    "resolve_data_root": "data",
    "CheckpointError": "errors",
    "CondgenError": "errors",
    "DataError": "errors",
    "OutputError": "errors",
    "PluginError": "errors",
    "RecipeError": "errors",
    "UserError": "errors",
    "hookimpl": "hookspecs",
    "BuildContext": "protocols",
    "Conditioner": "protocols",
    "Dataset": "protocols",
    "Decoder": "protocols",
    "Encoder": "protocols",
    "Head": "protocols",
    "LabelledDataset": "protocols",
    "MaskedDataset": "protocols",
    "MetricDataset": "protocols",
    "Prior": "protocols",
    "Split": "protocols",
    "OptimizerConfig": "optim",
    "make_optimizer": "optim",
    "KINDS": "registry",
    "ComponentConfig": "registry",
    "ModelLoss": "training_step",
    "TrainingStep": "training_step",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'condgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # what a type checker and an IDE see: the same names, imported eagerly
    from .blocks import BlockKind, ComponentBlock
    from .data import TensorSplit, resolve_data_root
    from .errors import CheckpointError, CondgenError, DataError, OutputError, PluginError, RecipeError, UserError
    from .hookspecs import hookimpl
    from .optim import OptimizerConfig, make_optimizer
    from .protocols import (
        BuildContext,
        Conditioner,
        Dataset,
        Decoder,
        Encoder,
        Head,
        LabelledDataset,
        MaskedDataset,
        MetricDataset,
        Prior,
        Split,
    )
    from .registry import KINDS, ComponentConfig
    from .training_step import ModelLoss, TrainingStep

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "BlockKind",
    "BuildContext",
    "CheckpointError",
    "ComponentBlock",
    "ComponentConfig",
    "CondgenError",
    "Conditioner",
    "DataError",
    "Dataset",
    "Decoder",
    "Encoder",
    "Head",
    "LabelledDataset",
    "MaskedDataset",
    "MetricDataset",
    "ModelLoss",
    "OptimizerConfig",
    "OutputError",
    "PluginError",
    "Prior",
    "RecipeError",
    "Split",
    "TensorSplit",
    "TrainingStep",
    "UserError",
    "__version__",
    "hookimpl",
    "make_optimizer",
    "resolve_data_root",
]
