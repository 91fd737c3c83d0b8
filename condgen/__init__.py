"""condgen: conditional generative models composed from plugins.

This module is the public API plugins build on; everything a plugin needs is
importable from here.
"""

from __future__ import annotations

from .blocks import BlockKind, ComponentBlock
from .conditions import ConditionBatch, ConditionRequest, conditions_for
from .data import TensorSplit, resolve_data_root
from .fields import Seed, UsablePath, Width
from .errors import CheckpointError, CondgenError, DataError, OutputError, PluginError, RecipeError, UserError
from .hookspecs import hookimpl
from .likelihoods import LikelihoodOptions, likelihood, values_per_entry
from .protocols import (
    BuildContext,
    Conditioner,
    ControlledDataset,
    Dataset,
    Decoder,
    Encoder,
    Head,
    LabelledDataset,
    Logger,
    MaskedDataset,
    MetricDataset,
    Prior,
    RequestableDataset,
    RunInfo,
    Split,
    StatefulDataset,
    TextDataset,
    TextEncoder,
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
    "ConditionBatch",
    "ConditionRequest",
    "CondgenError",
    "Conditioner",
    "ControlledDataset",
    "DataError",
    "Dataset",
    "Decoder",
    "Encoder",
    "Head",
    "LabelledDataset",
    "LikelihoodOptions",
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
    "Seed",
    "RequestableDataset",
    "Split",
    "StatefulDataset",
    "TensorSplit",
    "TextDataset",
    "TextEncoder",
    "TrainingStep",
    "UsablePath",
    "UserError",
    "Width",
    "__version__",
    "conditions_for",
    "hookimpl",
    "likelihood",
    "load_run",
    "make_optimizer",
    "resolve_data_root",
    "train",
    "values_per_entry",
]
