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
    MaskedDataset,
    MetricDataset,
    Prior,
    RequestableDataset,
    Split,
    StatefulDataset,
    TextDataset,
    TextEncoder,
)
from .optim import OptimizerConfig, make_optimizer
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
    "MaskedDataset",
    "MetricDataset",
    "ModelLoss",
    "OptimizerConfig",
    "OutputError",
    "PluginError",
    "Prior",
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
    "make_optimizer",
    "resolve_data_root",
    "values_per_entry",
]
