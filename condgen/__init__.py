"""condgen: conditional generative models composed from plugins.

This module is the public API plugins build on; everything a plugin needs is
importable from here. Names are imported on first use, so ``import condgen``
(every plugin does it) and ``condgen --help`` do not pay for torch until
something needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    "BlockKind": "blocks",
    "ComponentBlock": "blocks",
    "ConditionBatch": "condition_request",
    "ConditionRequest": "condition_request",
    "conditions_for": "conditions",
    "check_attribute_names": "conditions",
    "TensorSplit": "data",
    "resolve_data_root": "data",
    "Seed": "fields",
    "UsablePath": "fields",
    "Width": "fields",
    "CheckpointError": "errors",
    "CondgenError": "errors",
    "DataError": "errors",
    "OutputError": "errors",
    "PluginError": "errors",
    "RecipeError": "errors",
    "UserError": "errors",
    "hookimpl": "hookspecs",
    "LikelihoodOptions": "likelihood_options",
    "likelihood": "likelihoods",
    "values_per_entry": "likelihood_options",
    "BuildContext": "protocols",
    "Conditioner": "protocols",
    "ControlledDataset": "protocols",
    "Dataset": "protocols",
    "Decoder": "protocols",
    "Encoder": "protocols",
    "Head": "protocols",
    "LabelledDataset": "protocols",
    "Logger": "protocols",
    "MaskedDataset": "protocols",
    "MetricDataset": "protocols",
    "Prior": "protocols",
    "RequestableDataset": "protocols",
    "RunInfo": "protocols",
    "Split": "protocols",
    "StatefulDataset": "protocols",
    "TextDataset": "protocols",
    "TextEncoder": "protocols",
    "OptimizerConfig": "optim",
    "make_optimizer": "optim",
    "KINDS": "registry",
    "ComponentConfig": "registry",
    "checks_data": "registry",
    "ModelLoss": "training_step",
    "ENCODER_AND_DECODER": "training_step",
    "DECODER_ONLY": "training_step",
    "TrainingStep": "training_step",
    "Run": "api",
    "load_run": "api",
    "train": "api",
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
    from .condition_request import ConditionBatch, ConditionRequest
    from .conditions import check_attribute_names, conditions_for
    from .data import TensorSplit, resolve_data_root
    from .fields import Seed, UsablePath, Width
    from .errors import CheckpointError, CondgenError, DataError, OutputError, PluginError, RecipeError, UserError
    from .hookspecs import hookimpl
    from .likelihood_options import LikelihoodOptions, values_per_entry
    from .likelihoods import likelihood
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
    from .registry import KINDS, ComponentConfig, checks_data
    from .training_step import DECODER_ONLY, ENCODER_AND_DECODER, ModelLoss, TrainingStep
    from .api import Run, load_run, train

__all__ = ["__version__", *_EXPORTS]  # the public names are exactly the lazily loaded ones
