"""The ``mnist`` dataset: 28x28 digits, conditioned on the one-hot label.

Downloads with torchvision, reads the checked IDX files itself (``idx.py``) and keeps each split
as one uint8 tensor; batches are gathered by index and scaled to [0, 1].

Only the configs and the hook live here: the components are registered by path
(``condgen_mnist.dataset``), so listing and validating never import torch.
"""

from __future__ import annotations

from pydantic import Field

import condgen


class MNISTConfig(condgen.ComponentConfig):
    root: condgen.UsablePath | None = Field(None, description="folder holding MNIST/raw; default $CONDGEN_DATA_DIR, else ./data")
    download: bool = Field(True, description="download the files into root when they are missing")
    limit: int | None = Field(None, ge=1, le=10**9, description="use only the first N examples of each split (quick runs)")
    binarize: bool = Field(
        False,
        description="binary pixels drawn with probability = intensity: afresh for every training batch (dynamic "
        "binarization), once with a fixed seed for the test split, the standard likelihood benchmark",
    )


@condgen.hookimpl
def register_components(register):
    register("dataset", "mnist", "condgen_mnist.dataset:build", MNISTConfig)
