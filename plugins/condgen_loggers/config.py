"""The loggers' configs: the options a recipe may set, without torch.

Kept apart from the code that builds the components, so ``condgen validate`` and
``condgen plugins`` read them without importing torch, TensorBoard or MLflow.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

import condgen


class JsonlConfig(condgen.ComponentConfig):
    pass


class MlflowConfig(condgen.ComponentConfig):
    #: None: a file store in the run folder (``<run>/mlruns``)
    tracking_uri: str | None = None
    experiment: str = Field("condgen", min_length=1, max_length=500)


class TensorboardConfig(condgen.ComponentConfig):
    #: event files go here, relative to the run folder
    dir: Path = Path("tensorboard")
    #: seconds between flushes to disk
    flush_secs: int = Field(30, ge=1, le=3600)
