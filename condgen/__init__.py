"""condgen: conditional generative models composed from plugins.

This module is the public API plugins build on; everything a plugin needs is
importable from here.
"""

from __future__ import annotations

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
    Prior,
    Split,
)
from .registry import KINDS, ComponentConfig

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "BuildContext",
    "CheckpointError",
    "ComponentConfig",
    "CondgenError",
    "Conditioner",
    "DataError",
    "Dataset",
    "Decoder",
    "Encoder",
    "Head",
    "LabelledDataset",
    "OutputError",
    "PluginError",
    "Prior",
    "RecipeError",
    "Split",
    "TensorSplit",
    "UserError",
    "__version__",
    "hookimpl",
    "resolve_data_root",
]
