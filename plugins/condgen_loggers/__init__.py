"""Built-in loggers: ``jsonl`` (the run folder's metrics.jsonl), ``tensorboard`` and ``mlflow``.

TensorBoard and MLflow are optional extras (``pip install condgen[tensorboard]``,
``condgen[mlflow]``): the recipe validates without them, and the run says what
to install when it starts.
"""

from __future__ import annotations

import condgen

from .jsonl_file import JsonlConfig, JsonlLogger
from .mlflow_store import MlflowConfig, MlflowLogger
from .tensorboard_events import TensorboardConfig, TensorboardLogger


@condgen.hookimpl
def register_components(register) -> None:
    register("logger", "jsonl", JsonlLogger, JsonlConfig)
    register("logger", "tensorboard", TensorboardLogger, TensorboardConfig)
    register("logger", "mlflow", MlflowLogger, MlflowConfig)
