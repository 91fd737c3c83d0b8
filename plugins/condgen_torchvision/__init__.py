"""The ``torchvision`` dataset: standard image datasets by name, read and downloaded by torchvision.

```yaml
data: {name: torchvision, dataset: FashionMNIST}      # KMNIST, EMNIST (emnist_split), CIFAR10, SVHN, CelebA
```

Labelled datasets give the one-hot class (``condgen sample --label Sneaker``
works by name); CelebA gives its 40 binary attributes as the condition. Each
split is held as one uint8 tensor, like ``mnist``. CelebA's JPEG files are
decoded once (resized and centre-cropped to ``size``) into the same uint8
cache ``image_folder`` uses. Shapes and class names are known without the
files, so a run samples on a machine that does not have the data.

Only the configs and the hook live here: the components are registered by path
(``condgen_torchvision.datasets``), so listing and validating never import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

import condgen

Name = Literal["FashionMNIST", "KMNIST", "EMNIST", "CIFAR10", "SVHN", "CelebA"]


class TorchvisionConfig(condgen.ComponentConfig):
    dataset: Name = Field(description="which torchvision dataset")
    root: Path | None = Field(None, description="where torchvision keeps it; default $CONDGEN_DATA_DIR, else ./data")
    download: bool = Field(True, description="download the files into root when they are missing")
    emnist_split: Literal["byclass", "bymerge", "balanced", "letters", "digits", "mnist"] = Field(
        "balanced", description="EMNIST only: which of its splits"
    )
    size: tuple[Annotated[int, Field(ge=1, le=4096)], Annotated[int, Field(ge=1, le=4096)]] = Field((64, 64), description="CelebA only: height and width after resize and centre crop")
    limit: int | None = Field(None, gt=0, le=10**9, description="use only the first N examples of each split (quick runs)")


@condgen.hookimpl
def register_components(register):
    register("dataset", "torchvision", "condgen_torchvision.datasets:build", TorchvisionConfig)
