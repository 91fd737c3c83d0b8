"""Built-in loggers: ``jsonl`` (the run folder's metrics.jsonl), ``tensorboard`` and ``mlflow``.

TensorBoard and MLflow are optional extras (``pip install condgen[tensorboard]``,
``condgen[mlflow]``): the recipe validates without them, and the run says what
to install when it starts.
"""

from __future__ import annotations

import condgen

from .config import JsonlConfig, MlflowConfig, TensorboardConfig


@condgen.hookimpl
def register_components(register) -> None:
    register("logger", "jsonl", "condgen_loggers.jsonl_file:JsonlLogger", JsonlConfig)
    register("logger", "tensorboard", "condgen_loggers.tensorboard_events:TensorboardLogger", TensorboardConfig)
    register("logger", "mlflow", "condgen_loggers.mlflow_store:MlflowLogger", MlflowConfig)
