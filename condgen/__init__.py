"""condgen: conditional generative models composed from plugins.

This module is the public API plugins build on; everything a plugin needs is
importable from here.
"""

from __future__ import annotations

from .blocks import BlockKind, ComponentBlock
from .data import TensorSplit, resolve_data_root
from .errors import CheckpointError, CondgenError, DataError, OutputError, PluginError, RecipeError, UserError
from .hookspecs import hookimpl
from .protocols import (
    BuildContext,
    Conditioner,
    Dataset,
    Decoder,
    Encoder,
    Head,
    LabelledDataset,
    Logger,
    MaskedDataset,
    MetricDataset,
    Prior,
    RunInfo,
    Split,
)
from .optim import OptimizerConfig, make_optimizer
from .registry import KINDS, ComponentConfig
from .training_step import ModelLoss, TrainingStep

__version__ = "0.1.0"

#: The Python API (condgen.api), imported on first use: plugins importing condgen do not pay for the engine.
_API = ("Run", "load_run", "train")


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'condgen' has no attribute {name!r}")

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
    "Logger",
    "MaskedDataset",
    "MetricDataset",
    "ModelLoss",
    "OptimizerConfig",
    "OutputError",
    "PluginError",
    "Prior",
    "Run",
    "RecipeError",
    "Split",
    "TensorSplit",
    "TrainingStep",
    "UserError",
    "__version__",
    "hookimpl",
    "load_run",
    "make_optimizer",
    "resolve_data_root",
    "train",
]
