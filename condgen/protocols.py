"""What each component kind must provide.

The model composes these parts without knowing any of them concretely; a
plugin that satisfies the protocol of its kind works in any recipe. Networks
are ``torch.nn.Module``s; distributions are ``torch.distributions`` objects,
so the ELBO, importance-weighted bounds and sampling work for any combination.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import distributions as D


@dataclass(frozen=True)
class BuildContext:
    """What the composer knows when it builds a component.

    ``input_shape`` is the shape (without the batch dimension) of what the
    component's ``forward`` receives; ``output_shape`` what it must describe.
    Fields that do not apply to a kind are ``None``.
    """

    x_shape: tuple[int, ...] | None = None
    condition_shape: tuple[int, ...] | None = None
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    latent_dim: int | None = None
    recipe_dir: Path | None = None
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Split(Protocol):
    """One split of a dataset, addressed by index so batches are cheap."""

    def __len__(self) -> int: ...

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, condition)`` as float tensors for these example indices."""
        ...


@runtime_checkable
class Dataset(Protocol):
    """Turns a config into train/test data of ``(x, condition)`` pairs.

    Shapes must be known without reading data, so a checkpoint can be sampled
    on a machine that does not have the dataset.
    """

    x_shape: tuple[int, ...]
    condition_shape: tuple[int, ...]

    def load(self, split: str) -> Split:
        """Load ``"train"`` or ``"test"``; raise :class:`condgen.DataError` if unavailable."""
        ...

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        """Conditions for a preview grid: one row per class or example, ``per_row`` columns."""
        ...


@runtime_checkable
class LabelledDataset(Dataset, Protocol):
    """A dataset whose conditions are built from class labels (``condgen sample --label``)."""

    num_classes: int

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Conditioner(Protocol):
    """Joins the condition with what the encoder and decoder consume."""

    def encoder_input_shape(self, x_shape: tuple[int, ...], condition_shape: tuple[int, ...]) -> tuple[int, ...]: ...

    def decoder_input_shape(self, latent_dim: int, condition_shape: tuple[int, ...]) -> tuple[int, ...]: ...

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor: ...

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Encoder(Protocol):
    """Maps the joined ``(x, c)`` to q(z | x, c), a distribution over ``latent_dim`` values."""

    latent_dim: int

    def __call__(self, joined: torch.Tensor) -> D.Distribution: ...


@runtime_checkable
class Decoder(Protocol):
    """Maps the joined ``(z, c)`` to p(x | z, c), a distribution with event shape ``x_shape``."""

    def __call__(self, joined: torch.Tensor) -> D.Distribution: ...


@runtime_checkable
class Prior(Protocol):
    """Maps the condition to p(z | c), a distribution over ``latent_dim`` values."""

    def __call__(self, condition: torch.Tensor) -> D.Distribution: ...


@runtime_checkable
class Head(Protocol):
    """An auxiliary network with its own parameters and losses (e.g. a classifier)."""

    def parameters(self): ...
